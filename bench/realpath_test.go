package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// fakeTrace is a one- or two-flow trace with a few points and probes, as
// realpath.Path.Run returns (the real ones need root and minutes).
func fakeTrace(cfg realpath.Config, flows int) *realpath.Trace {
	tr := &realpath.Trace{Config: cfg, BaseRTT: cfg.RTT, Flows: make([]realpath.FlowTrace, flows)}
	for i := range 10 {
		at := time.Duration(i) * realpath.SampleInterval
		for f := range tr.Flows {
			tr.Flows[f].Points = append(tr.Flows[f].Points, realpath.Point{At: at, Bytes: int64(i * 1000), Ours: true, Window: 1000 * i, InFlight: 900 * i})
		}
		tr.Probes = append(tr.Probes, realpath.Sample{At: at, RTT: cfg.RTT + time.Duration(i)*time.Millisecond})
	}
	return tr
}

// TestRealpathReport renders the real-path tables and plots from made-up
// results and checks that they land between the markers, with every
// transport's figures and the plots the text links.
func TestRealpathReport(t *testing.T) {
	res := rpResults{one: map[string]realpath.OneFlow{}, longFat: map[string]realpath.OneFlow{},
		gigabit: map[string]realpath.OneFlow{}, join: map[string]realpath.Pair{}, late: map[string]realpath.Pair{}}
	for i, name := range []string{"utp", "utp-ledbat", "libutp", "tcp", "quic-go"} {
		rate := float64(i+1) * 1e6
		res.one[name] = realpath.OneFlow{Trace: fakeTrace(realpath.Background, 1), Rate: rate, QueueP50: 50 * time.Millisecond}
		res.longFat[name] = realpath.OneFlow{Trace: fakeTrace(realpath.LongFat, 1), Rate: 10 * rate}
		res.gigabit[name] = realpath.OneFlow{Trace: fakeTrace(realpath.Gigabit, 1), Rate: 100 * rate}
		res.join[name] = realpath.Pair{Trace: fakeTrace(realpath.Background, 2), Shares: [2]float64{0.01, 0.99}}
		res.late[name] = realpath.Pair{Trace: fakeTrace(realpath.Background, 2), Shares: [2]float64{0.4, 0.6}, Jain: 0.96}
	}
	dir := t.TempDir()
	doc := filepath.Join(dir, "performance.md")
	if err := os.WriteFile(doc, []byte("head\n"+rpBegin+"\nold\n"+rpEnd+"\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rpRender(&b, []rpResults{res}, "perf")
	if err := rpPlots(filepath.Join(dir, "perf"), res); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(doc, rpBegin, rpEnd, b.String()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(doc)
	s := string(got)
	for _, want := range []string{
		"head\n" + rpBegin, rpEnd + "\ntail\n",
		"| one flow: queueing delay median / p95 (5s–15s), rate | 50 / 0 ms, 1.00 Mbit/s | 50 / 0 ms, 2.00 Mbit/s | 50 / 0 ms, 3.00 Mbit/s | 50 / 0 ms, 4.00 Mbit/s |",
		"our share over 7s–17s | 1.0% | 1.0% | 1.0% | — |",
		"40% / 60%, 0.96 |",
		"| 100 Mbit/s tbf, 200ms buffer, 100ms RTT | 10.0 (0 ms) | 20.0 (0 ms) | 40.0 (0 ms) | 50.0 (0 ms) | 0.25× |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "\nold\n") {
		t.Errorf("the old section is still there:\n%s", s)
	}
	for _, f := range []string{"realpath-latecomer-ledbat.png", "realpath-latecomer-ledbatpp.png", "realpath-longfat.png"} {
		if _, err := os.Stat(filepath.Join(dir, "perf", f)); err != nil {
			t.Errorf("plot %s: %v", f, err)
		} else if !strings.Contains(s, "(perf/"+f+")") {
			t.Errorf("plot %s is not linked", f)
		}
	}
}
