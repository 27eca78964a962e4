package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"

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

// fakeResults are made-up results of rounds rounds for every transport,
// the figures growing with the round.
func fakeResults(rounds int) []rpResults {
	var all []rpResults
	for round := range rounds {
		res := rpResults{one: map[string]realpath.OneFlow{}, longFat: map[string]realpath.OneFlow{},
			gigabit: map[string]realpath.OneFlow{}, join: map[string]realpath.Pair{}, late: map[string]realpath.Pair{},
			load: [2]float64{float64(4 + round), float64(6 + round)}}
		for i, name := range []string{"utp", "utp-ledbat", "utp-before", "libutp", "tcp", "quic-go"} {
			rate := float64(i+1) * 1e6 * float64(round+1)
			res.one[name] = realpath.OneFlow{Trace: fakeTrace(realpath.Background, 1), Rate: rate, QueueP50: 50 * time.Millisecond}
			res.longFat[name] = realpath.OneFlow{Trace: fakeTrace(realpath.LongFat, 1), Rate: 10 * rate}
			res.gigabit[name] = realpath.OneFlow{Trace: fakeTrace(realpath.Gigabit, 1), Rate: 100 * rate}
			res.join[name] = realpath.Pair{Trace: fakeTrace(realpath.Background, 2), Shares: [2]float64{0.01, 0.99}}
			res.late[name] = realpath.Pair{Trace: fakeTrace(realpath.Background, 2), Shares: [2]float64{0.4, 0.6}, Jain: 0.96}
		}
		res.one["utp"].Trace.DelayLine = realpath.LineStats{Released: 100, Late: 10, TotalLate: 20 * time.Millisecond, Worst: 5 * time.Millisecond}
		all = append(all, res)
	}
	return all
}

// renderFake renders all into a document with the markers in dir and
// returns the document; the plots go to dir/perf.
func renderFake(t *testing.T, dir string, all []rpResults) string {
	t.Helper()
	doc := filepath.Join(dir, "performance.md")
	if err := os.WriteFile(doc, []byte("head\n"+rpBegin+"\nold\n"+rpEnd+"\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rpRender(&b, time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC), "a test machine", all, "perf")
	if err := rpPlots(filepath.Join(dir, "perf"), all); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(doc, rpBegin, rpEnd, b.String()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

// wantAll fails t for each of wants that the report s lacks.
func wantAll(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

// TestRealpathReport renders the real-path tables and plots from made-up
// results of one round and checks that they land between the markers,
// with every transport's figures and the plots the text links.
func TestRealpathReport(t *testing.T) {
	dir := t.TempDir()
	s := renderFake(t, dir, fakeResults(1))
	wantAll(t, s,
		"head\n"+rpBegin, rpEnd+"\ntail\n",
		"| scenario | ours (LEDBAT++) | ours, LEDBAT option | libutp | TCP cubic |",
		"| one flow: queueing delay median / p95 (5s–15s), rate | 50 / 0 ms, 1.00 Mbit/s | 50 / 0 ms, 2.00 Mbit/s | 50 / 0 ms, 4.00 Mbit/s | 50 / 0 ms, 5.00 Mbit/s |",
		"our share over 7s–17s | 1.0% | 1.0% | 1.0% | — |",
		"40% / 60%, 0.96 |",
		"| 100 Mbit/s tbf, 200ms buffer, 100ms RTT | 10.0 (0 ms) | 20.0 (0 ms) | 50.0 (0 ms) | 60.0 (0 ms) | 0.20× |",
		"One-minute load average at the rounds' starts and ends: 4.0–6.0",
		"10 of 100 packets (10.00%) released more than 1ms late",
		"in the worst run 10.00% of packets were late",
		"\"Before\" in the plots is today's library with `utp.WithCongestionControl(utp.LEDBAT)`",
	)
	if strings.Contains(s, "\nold\n") {
		t.Errorf("the old section is still there:\n%s", s)
	}
	for _, f := range []string{"realpath-latecomer-before.png", "realpath-latecomer-after.png", "realpath-longfat-before.png", "realpath-longfat-after.png"} {
		if _, err := os.Stat(filepath.Join(dir, "perf", f)); err != nil {
			t.Errorf("plot %s: %v", f, err)
		} else if !strings.Contains(s, "(perf/"+f+")") {
			t.Errorf("plot %s is not linked", f)
		}
	}
}

// TestRealpathReportBefore renders three rounds with an earlier build of
// the library as "before": its column appears beside ours, medians carry
// their range, and the command named is the script that builds it.
func TestRealpathReportBefore(t *testing.T) {
	tr := realpath.UTP("utp-before")
	rpBefore.Transport, rpBefore.Rev = &tr, "0123abc"
	defer func() { rpBefore.Transport, rpBefore.Rev = nil, "" }()
	s := renderFake(t, t.TempDir(), fakeResults(3))
	wantAll(t, s,
		"| scenario | ours (LEDBAT++) | before (0123abc) | ours, LEDBAT option | libutp | TCP cubic |",
		// utp's rate is 1, 2 and 3 Mbit/s in the three rounds; before's 3, 6 and 9.
		"rate | 50 (50–50) / 0 (0–0) ms, 2.00 (1.00–3.00) Mbit/s | 50 (50–50) / 0 (0–0) ms, 6.00 (3.00–9.00) Mbit/s |",
		"| 100 Mbit/s tbf, 200ms buffer, 100ms RTT | 20.0 (10.0–30.0) (0 ms) | 60.0 (30.0–90.0) (0 ms) |",
		"One-minute load average at the rounds' starts and ends: 4.0–8.0",
		"\"Before\" is the library at commit 0123abc",
		"`cd bench && sudo ./realpath-before.sh 0123abc -rounds 3`",
		"The latecomer scenario (before: the library at 0123abc; after: LEDBAT++)",
	)
}

// TestQueueBins checks the plots' queue line: probes out of order are
// binned by send time, each bin gives its median, and the idle baseline
// before the start is left out.
func TestQueueBins(t *testing.T) {
	tr := &realpath.Trace{BaseRTT: 40 * time.Millisecond}
	for _, p := range []struct{ at, q time.Duration }{
		{-50 * time.Millisecond, 99}, {10 * time.Millisecond, 5}, {0, 1}, {20 * time.Millisecond, 3},
		{150 * time.Millisecond, 7},
	} {
		tr.Probes = append(tr.Probes, realpath.Sample{At: p.at, RTT: tr.BaseRTT + p.q*time.Millisecond})
	}
	got := rpQueueBins(tr)
	want := plotter.XYs{{X: 0.05, Y: 3}, {X: 0.15, Y: 7}}
	if !slices.Equal(got, want) {
		t.Errorf("bins %v, want %v", got, want)
	}
}

// TestRealpathSaveFrom checks that a saved run reads back whole: its
// rounds, traces and the earlier build's column, which a build without
// that build (rpBefore unset) still shows.
func TestRealpathSaveFrom(t *testing.T) {
	all := fakeResults(2)
	run := rpSaved{When: time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC), Machine: "m", Before: "0123abc"}
	for _, r := range all {
		run.Rounds = append(run.Rounds, rpSavedRound{One: r.one, LongFat: r.longFat, Gigabit: r.gigabit, Join: r.join, Late: r.late, Load: r.load})
	}
	file := filepath.Join(t.TempDir(), "run.gob")
	if err := rpSave(file, run); err != nil {
		t.Fatal(err)
	}
	got, err := rpLoadSaved(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rpBefore.Transport, rpBefore.Rev = nil, "" }()
	back := got.results()
	if len(back) != 2 || back[1].one["utp"].Rate != all[1].one["utp"].Rate || back[1].load != all[1].load {
		t.Fatalf("rounds read back: %+v", back)
	}
	if tr := back[0].late["utp"].Trace; tr == nil || len(tr.Probes) != 10 || len(tr.Flows) != 2 || tr.Flows[1].Points[9].Window != 9000 {
		t.Errorf("latecomer trace read back: %+v", tr)
	}
	if ld := back[0].one["utp"].Trace.DelayLine; ld.Late != 10 {
		t.Errorf("delay line stats read back: %+v", ld)
	}
	if rpBeforeName() != "utp-before" || rpBefore.Rev != "0123abc" || !got.When.Equal(run.When) {
		t.Errorf("the earlier build's column is lost: before %q, rev %q, when %v", rpBeforeName(), rpBefore.Rev, got.When)
	}
}

// TestRealpathPathSet checks -path: empty is every path, a list names
// the paths to run, and a name that is not a path is refused.
func TestRealpathPathSet(t *testing.T) {
	if s, err := rpPathSet(""); s != nil || err != nil {
		t.Errorf(`rpPathSet("") = %v, %v; want nil, nil`, s, err)
	}
	s, err := rpPathSet("gigabit,longfat")
	if err != nil || len(s) != 2 || !s["gigabit"] || !s["longfat"] {
		t.Errorf(`rpPathSet("gigabit,longfat") = %v, %v`, s, err)
	}
	if _, err := rpPathSet("gigabit,moon"); err == nil {
		t.Error(`rpPathSet("gigabit,moon"): no error`)
	}
}
