package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenariosQuick runs every scenario at its quick size for our uTP
// and, where it applies, TCP, and checks that each moved what it should:
// the suite's figures are only as good as these paths.
func TestScenariosQuick(t *testing.T) {
	sz := quick
	for _, name := range []string{"utp", "utp-1452", "tcp"} {
		im, err := implByName(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			check := func(r result) {
				t.Helper()
				if r.Err != "" {
					t.Fatalf("%s: %s", r.Scenario, r.Err)
				}
			}
			r := bulk(im, sz.bulk, sz.bulkLimit)
			check(r)
			if r.Bytes != sz.bulk || r.Seconds <= 0 || r.CPU <= 0 {
				t.Errorf("bulk: %+v, want %d bytes, time and CPU", r, sz.bulk)
			}
			for _, shape := range []string{"", shapeAcceptLoop} {
				r = pingPong(im, sz.pingTime, 1000, shape)
				check(r)
				if r.Count == 0 || r.P50 <= 0 || r.P99 < r.P50 || r.CPU <= 0 {
					t.Errorf("pingpong %q: %+v, want round trips, percentiles and CPU", shape, r)
				}
			}
			for _, shape := range []string{"", shapePerDial} {
				r = setup(im, sz.setupTime, 200, shape)
				check(r)
				if r.Count == 0 || r.CPU <= 0 {
					t.Errorf("setup %q: %+v, want connections and CPU", shape, r)
				}
			}
			for _, shape := range []string{shapeShared, shapePerDial} {
				r = conns(im, shape, sz.shapeConns, sz.shapePer, sz.fanLimit)
				check(r)
				if r.Count != sz.shapeConns || r.Bytes != int64(sz.shapeConns)*sz.shapePer || r.CPU <= 0 {
					t.Errorf("conns %q: %+v, want every connection's bytes and CPU (peak memory is a worker process's, not this test's)", shape, r)
				}
			}
			r = fanout(im, sz.fanConns, sz.fanPer, sz.fanLimit)
			check(r)
			if r.Count != sz.fanConns || r.Bytes != int64(sz.fanConns)*sz.fanPer {
				t.Errorf("fanout: %+v", r)
			}
			r = veth(im, sz.bulk, sz.bulkLimit)
			check(r)
			if r.Bytes != sz.bulk || r.CPU <= 0 {
				t.Errorf("veth: %+v, want %d bytes and CPU", r, sz.bulk)
			}
			if out, _ := exec.Command("ip", "netns", "list").Output(); bytes.Contains(out, []byte(fmt.Sprintf("utpbench-c%d", os.Getpid()))) {
				t.Errorf("veth: the run left its namespaces behind:\n%s", out)
			}
			if !im.udp {
				return
			}
			r = lossy(im, lossProfiles[2], sz.lossySize, sz.lossyLimit)
			check(r)
			if r.Bytes != sz.lossySize {
				t.Errorf("lossy: %+v", r)
			}
			r = scale(im, sz.scaleConns, sz.scaleBusy)
			check(r)
			if r.Count != sz.scaleConns || r.GoPerConn <= 0 {
				t.Errorf("scale: %+v", r)
			}
		})
	}
}

func TestParseGoodput(t *testing.T) {
	out := "goos: linux\n" +
		"BenchmarkGoodput/two-daemons-2  \t 32\t 305252380 ns/op\t  13.74 MB/s\t 113.9 %-of-raw\t 12.06 raw-MB/s\t 196.4 raw-msg/s\t 13.74 utp-MB/s\t 223.6 utp-pkt/s\n" +
		"--- BENCH: BenchmarkGoodput/two-daemons-2\n" +
		"BenchmarkGoodput/one-daemon-2 \t 32\t 49535958 ns/op\t 84.67 MB/s\t 121.6 %-of-raw\t 69.62 raw-MB/s\t 1133 raw-msg/s\t 84.67 utp-MB/s\t 1378 utp-pkt/s\n"
	got := parseGoodput(out)
	want := []inetResult{
		{Topology: "two-daemons", UTPMBps: 13.74, RawMBps: 12.06, Share: 113.9},
		{Topology: "one-daemon", UTPMBps: 84.67, RawMBps: 69.62, Share: 121.6},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestReportReplacesMarkedSection checks that the report keeps what is
// written around its section and states the targets from the results.
func TestReportReplacesMarkedSection(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "performance.md")
	head, tail := "# Performance\n\nhand-written notes\n\n", "\n\n## More notes\n"
	old := head + beginMarker + "\nold figures\n" + endMarker + tail
	if err := os.WriteFile(doc, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := report{Rounds: 3, Results: []result{
		{Scenario: "setup", Impl: "utp", Count: 300, Seconds: 1},
		{Scenario: "setup", Impl: "utp", Count: 200, Seconds: 1},
		{Scenario: "setup", Impl: "utp", Count: 100, Seconds: 1, Err: "failed"},
		{Scenario: "setup", Impl: "tcp", Count: 250, Seconds: 1},
	}}
	if err := writeReport(rep, doc, filepath.Join(dir, "perf")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.HasPrefix(got, head+beginMarker) || !strings.HasSuffix(got, endMarker+tail) || strings.Contains(got, "old figures") {
		t.Fatalf("the marked section was not replaced in place:\n%s", got)
	}
	// The failed run is left out: the median of 300 and 200 is 300 (the
	// upper one), 1.2 × TCP's 250.
	if !strings.Contains(got, "| setup rate | ≥ 1 × TCP | 1.20 × | yes |") {
		t.Errorf("setup target row missing or wrong:\n%s", got)
	}
	if !strings.Contains(got, "setup/utp: 1 of 3 runs failed: failed") {
		t.Errorf("the failed run is not reported:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "perf", "setup.png")); err != nil {
		t.Errorf("no setup plot: %v", err)
	}
	if !bytes.Contains(b, []byte("](perf/setup.png)")) {
		t.Errorf("the plot is not linked relative to the report:\n%s", got)
	}
}

// Implementations run in the suite's order in odd rounds and reversed in
// even ones, and the suite's list is left as it was.
func TestRoundOrder(t *testing.T) {
	impls := []string{"utp", "tcp", "quic-go"}
	for round, want := range map[int]string{1: "utp tcp quic-go", 2: "quic-go tcp utp", 3: "utp tcp quic-go", 4: "quic-go tcp utp"} {
		if got := strings.Join(roundOrder(impls, round), " "); got != want {
			t.Errorf("round %d runs %s, want %s", round, got, want)
		}
	}
	if got := strings.Join(impls, " "); got != "utp tcp quic-go" {
		t.Fatalf("roundOrder changed the list to %s", got)
	}
}
