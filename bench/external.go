package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// The INET256 and LEDBAT figures come from the main module's own tests and
// benchmarks, which hold the daemon harness and the simulator; the suite
// runs them with the go command from the repository's root.
const repoRoot = ".."

func numCPU() int { return runtime.NumCPU() }

// inetResult is one run of e2e/inet256's BenchmarkGoodput on a topology.
type inetResult struct {
	Topology string  `json:"topology"`
	UTPMBps  float64 `json:"utp_mbps"`
	RawMBps  float64 `json:"raw_mbps"`
	Share    float64 `json:"share_percent"` // uTP packets per second over raw messages per second
}

// measureINET256 runs the goodput benchmark against real daemons, rounds
// times per topology.
func measureINET256(rounds int, isQuick bool) []inetResult {
	benchtime := "32x"
	if isQuick {
		benchtime = "2x"
	}
	cmd := exec.Command("go", "test", "./e2e/inet256", "-run", "^$", "-bench", "Goodput",
		"-benchtime", benchtime, "-count", strconv.Itoa(rounds), "-timeout", "30m")
	cmd.Dir = repoRoot
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		log.Printf("inet256 benchmark: %v", err)
	}
	return parseGoodput(out.String())
}

// parseGoodput reads lines such as
//
//	BenchmarkGoodput/two-daemons-2  32  305252380 ns/op  13.74 MB/s  113.9 %-of-raw  12.06 raw-MB/s ...
func parseGoodput(out string) []inetResult {
	var rs []inetResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkGoodput/") {
			continue
		}
		name := strings.TrimPrefix(f[0], "BenchmarkGoodput/")
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		r := inetResult{Topology: name}
		for i := 1; i+1 < len(f); i++ {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "utp-MB/s":
				r.UTPMBps = v
			case "raw-MB/s":
				r.RawMBps = v
			case "%-of-raw":
				r.Share = v
			}
		}
		rs = append(rs, r)
	}
	return rs
}

func (rep report) inetMedian(topology string, f func(inetResult) float64) (float64, bool) {
	var v []float64
	for _, r := range rep.INET256 {
		if r.Topology == topology {
			v = append(v, f(r))
		}
	}
	return median(v)
}

func (rep report) inetShare(topology string) (float64, bool) {
	return rep.inetMedian(topology, func(r inetResult) float64 { return r.Share })
}

func (rep report) renderINET256(b *bytes.Buffer, plotRel string) {
	if len(rep.INET256) == 0 {
		return
	}
	b.WriteString("### INET256: uTP goodput beside the raw message rate\n\n")
	b.WriteString("`go test ./e2e/inet256 -run '^$' -bench Goodput -benchtime 32x` against real daemons (see [inet256.md](inet256.md)): 32 transfers of 4 MiB over one uTP connection between node addresses, and, on a second pair of nodes of the same daemons before and after, the rate of an ideal sender that keeps 8 messages of uTP's full packet size outstanding.\n\n")
	b.WriteString("| topology | uTP MB/s | raw MB/s | uTP packets per raw message |\n|---|---|---|---|\n")
	for _, top := range []string{"two-daemons", "one-daemon"} {
		u, ok := rep.inetMedian(top, func(r inetResult) float64 { return r.UTPMBps })
		raw, _ := rep.inetMedian(top, func(r inetResult) float64 { return r.RawMBps })
		share, _ := rep.inetShare(top)
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", top, fmtOr("%.1f", u, ok), fmtOr("%.1f", raw, ok), fmtOr("%.0f%%", share, ok))
	}
	fmt.Fprintf(b, "\n![INET256 goodput](%s/inet256.png)\n\n", plotRel)
}

// ledbatTrace is one LEDBAT flow alone on RFC 6817's reference bottleneck
// in netsim, sampled every 100 ms of virtual time.
type ledbatTrace struct {
	T         []float64 `json:"t"`          // seconds
	Window    []float64 `json:"window"`     // congestion window, bytes
	Estimate  []float64 `json:"estimate"`   // the controller's queuing delay estimate, ms
	LinkQueue []float64 `json:"link_queue"` // the bottleneck queue's delay, ms
}

// traceLEDBAT runs the simulator test that holds LEDBAT to its target
// delay, asking it to write its trace.
func traceLEDBAT() *ledbatTrace {
	dir, err := os.MkdirTemp("", "ledbat")
	if err != nil {
		log.Print(err)
		return nil
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "trace.csv")
	cmd := exec.Command("go", "test", "./utp/internal/proto", "-run", "^TestLEDBATHoldsTargetDelay$", "-count=1", "-ledbat.trace="+file)
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Printf("LEDBAT trace: %v", err)
	}
	f, err := os.Open(file)
	if err != nil {
		log.Print(err)
		return nil
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		log.Print(err)
		return nil
	}
	tr := &ledbatTrace{}
	for _, row := range rows[1:] {
		if len(row) < 4 {
			continue
		}
		v := make([]float64, 4)
		for i := range v {
			v[i], _ = strconv.ParseFloat(row[i], 64)
		}
		tr.T, tr.Window, tr.Estimate, tr.LinkQueue = append(tr.T, v[0]), append(tr.Window, v[1]), append(tr.Estimate, v[2]), append(tr.LinkQueue, v[3])
	}
	return tr
}

func (rep report) renderLEDBAT(b *bytes.Buffer, plotRel string) {
	if rep.LEDBAT == nil || len(rep.LEDBAT.T) == 0 {
		return
	}
	b.WriteString("### One LEDBAT flow in netsim\n\n")
	b.WriteString("RFC 6817's reference path in virtual time (`TestLEDBATHoldsTargetDelay`): a 10 Mbit/s bottleneck with a 400 ms drop-tail buffer and a 40 ms base RTT. The window grows in slow start, then settles where the queue it causes is near the 100 ms target.\n\n")
	fmt.Fprintf(b, "![LEDBAT window and queuing delay](%s/ledbat.png)\n\n", plotRel)
}
