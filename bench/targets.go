package main

import (
	"bytes"
	"fmt"
)

// A target is one of issue 7's goals (or issue 17's, named so), as a ratio or a bound computed from
// the same run.
type target struct {
	name  string
	want  string
	value func(rep report) (v float64, ok bool)
	met   func(v float64) bool
	unit  string // how v is printed: "×", "KiB", "%"...
}

func ratio(a, b float64, okA, okB bool) (float64, bool) {
	if !okA || !okB || b == 0 {
		return 0, false
	}
	return a / b, true
}

func (rep report) ratioOf(scenario, impl, other string, f func(result) float64) (float64, bool) {
	a, okA := rep.med(scenario, impl, "", f)
	b, okB := rep.med(scenario, other, "", f)
	return ratio(a, b, okA, okB)
}

func (rep report) lossyRatio(profile string) (float64, bool) {
	a, _, okA := rep.goodput("lossy", "utp", profile)
	b, _, okB := rep.goodput("lossy", "libutp", profile)
	return ratio(a, b, okA, okB)
}

var targets = []target{
	{"bulk, path-sized packets", "≥ 0.5 × TCP", func(rep report) (float64, bool) {
		return rep.ratioOf("bulk", "utp", "tcp", mbps)
	}, atLeast(0.5), "×"},
	{"bulk, 1,452-byte packets", "≥ 1.5 × quic-go", func(rep report) (float64, bool) {
		return rep.ratioOf("bulk", "utp-1452", "quic-go", mbps)
	}, atLeast(1.5), "×"},
	{"bulk CPU per GB, path-sized", "≤ 2 × TCP", func(rep report) (float64, bool) {
		return rep.ratioOf("bulk", "utp", "tcp", cpuPerGB)
	}, atMost(2), "×"},
	{"ping-pong p50", "≤ 1.2 × TCP", func(rep report) (float64, bool) {
		return rep.ratioOf("pingpong", "utp", "tcp", p50)
	}, atMost(1.2), "×"},
	{"ping-pong p99", "≤ 2 × TCP", func(rep report) (float64, bool) {
		return rep.ratioOf("pingpong", "utp", "tcp", p99)
	}, atMost(2), "×"},
	{"setup rate", "≥ 1 × TCP", func(rep report) (float64, bool) {
		return rep.ratioOf("setup", "utp", "tcp", setupRate)
	}, atLeast(1), "×"},
	{"fan-out aggregate", "≥ 0.5 × TCP, all complete", func(rep report) (float64, bool) {
		g := rep.group("fanout", "utp", "")
		if len(g.ok()) != len(g.runs) {
			return 0, false // a connection failed in some round
		}
		return rep.ratioOf("fanout", "utp", "tcp", mbps)
	}, atLeast(0.5), "×"},
	{"memory per idle connection", "≤ 16 KiB", func(rep report) (float64, bool) {
		v, ok := rep.med("scale", "utp", "", func(r result) float64 { return r.RSSPerConn })
		return v / 1024, ok
	}, atMost(16), "KiB"},
	{"lossy, 1% loss", "≥ 10 × libutp", func(rep report) (float64, bool) {
		return rep.lossyRatio("10ms-1%")
	}, atLeast(10), "×"},
	{"lossy, 3% loss", "≥ 20 × libutp", func(rep report) (float64, bool) {
		return rep.lossyRatio("10ms-3%")
	}, atLeast(20), "×"},
	{"receive-buffer drops in bulk", "0, every round", func(rep report) (float64, bool) {
		g := rep.group("bulk", "utp", "")
		if len(g.runs) == 0 {
			return 0, false
		}
		var most int64
		for _, r := range append(g.runs, rep.group("bulk", "utp-1452", "").runs...) {
			most = max(most, r.Drops)
		}
		return float64(most), true
	}, atMost(0), "drops"},
	{"veth bulk, MTU 1500 (issue 17)", "≥ 0.25 × TCP", func(rep report) (float64, bool) {
		return rep.ratioOf("veth", "utp", "tcp", mbps)
	}, atLeast(0.25), "×"},
	{"veth CPU per GB (issue 17)", "≤ 1.0 s", func(rep report) (float64, bool) {
		return rep.med("veth", "utp", "", cpuPerGB)
	}, atMost(1.0), "s"},
	{"INET256 goodput, two daemons", "≥ 80% of raw", func(rep report) (float64, bool) {
		return rep.inetShare("two-daemons")
	}, atLeast(80), "%"},
	{"INET256 goodput, one daemon", "≥ 80% of raw", func(rep report) (float64, bool) {
		return rep.inetShare("one-daemon")
	}, atLeast(80), "%"},
}

func atLeast(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
func atMost(x float64) func(float64) bool  { return func(v float64) bool { return v <= x } }

func (rep report) renderTargets(b *bytes.Buffer) {
	b.WriteString("### Targets (issues 7 and 16, and 17 where named), from this run\n\n")
	b.WriteString("| target | goal | measured | met |\n|---|---|---|---|\n")
	for _, t := range append(targets[:len(targets):len(targets)], shapeTargets...) {
		v, ok := t.value(rep)
		if !ok {
			fmt.Fprintf(b, "| %s | %s | not measured | — |\n", t.name, t.want)
			continue
		}
		met := "no"
		if t.met(v) {
			met = "yes"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", t.name, t.want, formatTarget(v, t.unit), met)
	}
	b.WriteString("\n")
}

func formatTarget(v float64, unit string) string {
	switch unit {
	case "×":
		return fmt.Sprintf("%.2f ×", v)
	case "%":
		return fmt.Sprintf("%.0f%%", v)
	case "KiB":
		return fmt.Sprintf("%.1f KiB", v)
	case "s":
		return fmt.Sprintf("%.2f s", v)
	default:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
}
