package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// report is everything one run of the suite measured; it is saved as
// JSON so that the markdown can be regenerated (-from).
type report struct {
	Started time.Time    `json:"started"`
	Rounds  int          `json:"rounds"`
	Command string       `json:"command"`
	Machine string       `json:"machine"`
	Results []result     `json:"results"`
	INET256 []inetResult `json:"inet256,omitempty"`
	LEDBAT  *ledbatTrace `json:"ledbat,omitempty"`
}

// group is every round of one (scenario, impl, profile).
type group struct {
	scenario, impl, profile string
	runs                    []result
}

// ok returns the runs without an error.
func (g group) ok() []result {
	var out []result
	for _, r := range g.runs {
		if r.Err == "" {
			out = append(out, r)
		}
	}
	return out
}

// median of f over the runs without error; ok is false if there are none.
func (g group) median(f func(result) float64) (float64, bool) {
	var v []float64
	for _, r := range g.ok() {
		v = append(v, f(r))
	}
	return median(v)
}

// collect applies f to each run.
func collect(runs []result, f func(result) float64) []float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	return v
}

// median returns the middle value (the upper one of an even count).
func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2], true
}

// errs describes the failed runs, if any.
func (g group) errs() string {
	var out []string
	for _, r := range g.runs {
		if r.Err != "" {
			out = append(out, r.Err)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d runs failed: %s", len(out), len(g.runs), out[0])
}

func (rep report) group(scenario, impl, profile string) group {
	g := group{scenario: scenario, impl: impl, profile: profile}
	for _, r := range rep.Results {
		if r.Scenario == scenario && r.Impl == impl && r.Profile == profile {
			g.runs = append(g.runs, r)
		}
	}
	return g
}

// med is the median of f for a group, and whether it exists.
func (rep report) med(scenario, impl, profile string, f func(result) float64) (float64, bool) {
	return rep.group(scenario, impl, profile).median(f)
}

const (
	beginMarker = "<!-- bench:begin (written by bench/, do not edit by hand) -->"
	endMarker   = "<!-- bench:end -->"
)

// writeReport renders rep into the marked section of the file at path,
// and its plots into plotDir.
func writeReport(rep report, path, plotDir string) error {
	var b bytes.Buffer
	rep.render(&b, relPath(filepath.Dir(path), plotDir))
	if err := rep.plots(plotDir); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	section := beginMarker + "\n" + b.String() + endMarker
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i >= 0 && j > i {
		doc = doc[:i] + section + doc[j+len(endMarker):]
	} else {
		doc += "\n" + section + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

func relPath(from, to string) string {
	r, err := filepath.Rel(from, to)
	if err != nil {
		return to
	}
	return filepath.ToSlash(r)
}

func (rep report) render(b *bytes.Buffer, plotRel string) {
	fmt.Fprintf(b, "Measured %s on %s; %s. ", rep.Started.Format("2006-01-02 15:04 MST"), rep.Machine, versions())
	fmt.Fprintf(b, "Medians of %d interleaved rounds, each measurement in a fresh process. Command:\n\n", rep.Rounds)
	fmt.Fprintf(b, "```\n%s\n```\n\n", rep.Command)
	rep.renderTargets(b)
	rep.renderBulk(b, plotRel)
	rep.renderVeth(b)
	rep.renderLatency(b, plotRel)
	rep.renderFanout(b, plotRel)
	rep.renderShapes(b)
	rep.renderScale(b)
	rep.renderLossy(b, plotRel)
	rep.renderINET256(b, plotRel)
	rep.renderLEDBAT(b, plotRel)
	rep.renderFailures(b)
}

// versions names the Go toolchain and the peers' module versions.
func versions() string {
	parts := []string{runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/quic-go/quic-go", "github.com/anacrolix/go-libutp", "github.com/anacrolix/utp":
				parts = append(parts, d.Path+" "+d.Version)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// fmtOr formats v, or a dash when it was not measured.
func fmtOr(format string, v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf(format, v)
}

func mbps(r result) float64     { return r.MBps() }
func cpuPerGB(r result) float64 { return r.CPUPerGB() }
func p50(r result) float64      { return r.P50 }
func p99(r result) float64      { return r.P99 }

// cpuEach is the CPU per round trip (ping-pong) or per setup, in µs.
func cpuEach(r result) float64 {
	if r.Count == 0 {
		return 0
	}
	return r.CPU / float64(r.Count) * 1e6
}

func setupRate(r result) float64 {
	if r.Seconds == 0 {
		return 0
	}
	return float64(r.Count) / r.Seconds
}

// implsOf lists the implementations that have results for a scenario, in
// the suite's order.
func (rep report) implsOf(scenario string) []string {
	var out []string
	for _, name := range scenarioImpls[scenario] {
		for _, r := range rep.Results {
			if r.Scenario == scenario && r.Impl == name {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

func (rep report) renderBulk(b *bytes.Buffer, plotRel string) {
	if len(rep.implsOf("bulk")) == 0 {
		return
	}
	fmt.Fprintf(b, "### Bulk: one connection, %s one way\n\n", mib(full.bulk))
	fmt.Fprintf(b, "`utp` sends packets sized to the path (65,000-byte payloads on loopback); `utp-1452` caps its datagrams at 1,452 bytes, quic-go's size. CPU is user+system time of the process that holds both ends, per GB moved. Drops are the kernel's receive-buffer drops on the two UDP sockets.\n\n")
	rep.renderBulkTable(b, "bulk")
	fmt.Fprintf(b, "\n![bulk throughput](%s/bulk.png)\n\n", plotRel)
}

// renderVeth is bulk across a veth pair (issue 17).
func (rep report) renderVeth(b *bytes.Buffer) {
	if len(rep.implsOf("veth")) == 0 {
		return
	}
	fmt.Fprintf(b, "### Bulk across a veth pair, MTU %d: one connection, %s one way\n\n", vethMTU, mib(full.bulk))
	b.WriteString("Two network namespaces joined by a veth pair, created and deleted by each run (root): a kernel path with Ethernet's MTU and no bottleneck, where our packets are sized to the path (1,472-byte datagrams) and TCP's segmentation and receive offloads carry 64 KiB at a time. CPU and drops as in the bulk table.\n\n")
	rep.renderBulkTable(b, "veth")
	b.WriteString("\n")
}

// renderBulkTable is the table of a one-way transfer scenario.
func (rep report) renderBulkTable(b *bytes.Buffer, scenario string) {
	b.WriteString("| implementation | MB/s | × TCP | CPU s/GB | drops |\n|---|---|---|---|---|\n")
	tcp, tcpOK := rep.med(scenario, "tcp", "", mbps)
	for _, name := range rep.implsOf(scenario) {
		g := rep.group(scenario, name, "")
		v, ok := g.median(mbps)
		cpu, _ := g.median(cpuPerGB)
		drops, _ := median(collect(g.runs, func(r result) float64 { return float64(r.Drops) }))
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, rep.goodputCell(scenario, name, "", "%.0f"), fmtOr("%.2f", v/tcp, ok && tcpOK),
			fmtOr("%.2f", cpu, ok), fmtOr("%.0f", drops, name != "tcp"))
	}
}

func (rep report) renderLatency(b *bytes.Buffer, plotRel string) {
	pp, su := rep.implsOf("pingpong"), rep.implsOf("setup")
	if len(pp)+len(su) == 0 {
		return
	}
	b.WriteString("### Latency and connection setup\n\n")
	b.WriteString("Ping-pong: 1-byte round trips on one connection for 3 s after 500 unmeasured ones. Setup: dial, 1-byte echo and close, one connection after another, for 3 s.\n\n")
	b.WriteString("| implementation | ping-pong p50 µs | p99 µs | p50 × TCP | p99 × TCP | setups/s | × TCP |\n|---|---|---|---|---|---|---|\n")
	tp50, ok1 := rep.med("pingpong", "tcp", "", p50)
	tp99, _ := rep.med("pingpong", "tcp", "", p99)
	tsu, ok2 := rep.med("setup", "tcp", "", setupRate)
	for _, name := range union(pp, su) {
		a, okA := rep.med("pingpong", name, "", p50)
		c, _ := rep.med("pingpong", name, "", p99)
		s, okS := rep.med("setup", name, "", setupRate)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, fmtOr("%.1f", a, okA), fmtOr("%.1f", c, okA),
			fmtOr("%.2f", a/tp50, okA && ok1), fmtOr("%.2f", c/tp99, okA && ok1),
			fmtOr("%.0f", s, okS), fmtOr("%.2f", s/tsu, okS && ok2))
	}
	fmt.Fprintf(b, "\n![ping-pong latency](%s/pingpong.png) ![setup rate](%s/setup.png)\n\n", plotRel, plotRel)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (rep report) renderFanout(b *bytes.Buffer, plotRel string) {
	impls := rep.implsOf("fanout")
	if len(impls) == 0 {
		return
	}
	fmt.Fprintf(b, "### Fan-out: %d connections × %s at once\n\n", full.fanConns, mib(full.fanPer))
	b.WriteString("| implementation | aggregate MB/s | × TCP | completed (worst round) | CPU s/GB |\n|---|---|---|---|---|\n")
	tcp, tcpOK := rep.med("fanout", "tcp", "", mbps)
	for _, name := range impls {
		g := rep.group("fanout", name, "")
		v, ok := g.median(mbps)
		cpu, _ := g.median(cpuPerGB)
		worst, of := -1, 0
		for _, r := range g.runs {
			if worst < 0 || r.Count < worst {
				worst, of = r.Count, r.Of
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d/%d | %s |\n", name, rep.goodputCell("fanout", name, "", "%.0f"), fmtOr("%.2f", v/tcp, ok && tcpOK), worst, of, fmtOr("%.2f", cpu, ok))
	}
	fmt.Fprintf(b, "\n![fan-out throughput](%s/fanout.png)\n\n", plotRel)
}

func (rep report) renderScale(b *bytes.Buffer) {
	impls := rep.implsOf("scale")
	if len(impls) == 0 {
		return
	}
	fmt.Fprintf(b, "### Scale: %d idle connections on one socket, then %d of them active\n\n", full.scaleConns, full.scaleBusy)
	b.WriteString("Both ends live in one process, so a figure per connection end is the process's growth divided by twice the connections. Go memory is heap objects plus goroutine stacks after a collection; RSS also counts memory outside Go's heap (libutp's). Active: each of the busy connections echoes 256 KiB at once, SHA-256 checked.\n\n")
	b.WriteString("| implementation | Go bytes per idle end | RSS bytes per idle end | active phase s | Go bytes per end after it |\n|---|---|---|---|---|\n")
	for _, name := range impls {
		g := rep.group("scale", name, "")
		gm, ok := g.median(func(r result) float64 { return r.GoPerConn })
		rs, _ := g.median(func(r result) float64 { return r.RSSPerConn })
		as, _ := g.median(func(r result) float64 { return r.ActiveSeconds })
		am, _ := g.median(func(r result) float64 { return r.ActivePerConn })
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, fmtOr("%.0f", gm, ok), fmtOr("%.0f", rs, ok), fmtOr("%.2f", as, ok), fmtOr("%.0f", am, ok))
	}
	b.WriteString("\n")
}

func (rep report) renderLossy(b *bytes.Buffer, plotRel string) {
	impls := rep.implsOf("lossy")
	if len(impls) == 0 {
		return
	}
	fmt.Fprintf(b, "### Lossy: %s through a UDP relay, SHA-256 checked\n\n", mib(full.lossySize))
	b.WriteString("The relay (`e2e/relay`) delays every datagram by 10 ms each way and drops the given share at random in both directions; the last profile also holds back 2% by 5 ms more and duplicates 1%. A run not finished in 60 s reports what arrived by then (marked †, here and in the tables above).\n\n")
	b.WriteString("| implementation |")
	for _, p := range lossProfiles {
		fmt.Fprintf(b, " %s MB/s |", p.name)
	}
	b.WriteString("\n|---|")
	for range lossProfiles {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, name := range impls {
		fmt.Fprintf(b, "| %s |", name)
		for _, p := range lossProfiles {
			fmt.Fprintf(b, " %s |", rep.goodputCell("lossy", name, p.name, "%.2f"))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\n![lossy goodput](%s/lossy.png)\n\n", plotRel)
}

// goodput is the median throughput of a group, counting runs that timed
// out by what they delivered by then (partial).
func (rep report) goodput(scenario, impl, profile string) (v float64, partial, ok bool) {
	g := rep.group(scenario, impl, profile)
	var vals []float64
	for _, r := range g.runs {
		if r.Err != "" && !timedOut(r.Err) {
			continue // failed, not merely slow
		}
		if r.Err != "" {
			partial = true
		}
		vals = append(vals, r.MBps())
	}
	v, ok = median(vals)
	return v, partial, ok
}

// timedOut tells a run that was merely slow from one that failed.
func timedOut(err string) bool {
	return strings.Contains(err, "timeout") || strings.Contains(err, "timed out") || strings.Contains(err, "deadline")
}

// goodputCell formats goodput, † marking a median over runs that timed
// out, and says "failed" when no run delivered.
func (rep report) goodputCell(scenario, impl, profile, format string) string {
	v, partial, ok := rep.goodput(scenario, impl, profile)
	if !ok {
		return "failed"
	}
	s := fmt.Sprintf(format, v)
	if partial {
		s += " †"
	}
	return s
}

func (rep report) renderFailures(b *bytes.Buffer) {
	var lines []string
	seen := map[string]bool{}
	for _, r := range rep.Results {
		key := r.Scenario + "/" + r.Impl + "/" + r.Profile
		if seen[key] {
			continue
		}
		seen[key] = true
		if e := rep.group(r.Scenario, r.Impl, r.Profile).errs(); e != "" {
			lines = append(lines, fmt.Sprintf("- %s: %s", strings.TrimSuffix(key, "/"), e))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("### Runs that failed or timed out\n\n")
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteString("\n\n")
}
