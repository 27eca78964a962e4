package main

import (
	"bytes"
	"fmt"
)

// shapeName says in words what a profile of pingpong, setup or conns is.
func shapeName(scenario, profile string) string {
	switch {
	case profile == shapeAcceptLoop:
		return "server accepts in a loop"
	case profile == shapePerDial:
		return "a Socket per dial"
	case profile == shapeShared, scenario == "setup" && profile == "":
		return "one shared Socket"
	default:
		return "server accepts once"
	}
}

// renderShapes writes the usage shapes of issue 16: each figure beside
// TCP's in the same shape and round set.
func (rep report) renderShapes(b *bytes.Buffer) {
	impls := rep.implsOf("conns")
	if len(impls) == 0 && len(rep.group("pingpong", "utp", shapeAcceptLoop).runs) == 0 {
		return
	}
	b.WriteString("### Usage shapes (issue 16)\n\n")
	b.WriteString("Programs written the way most users write them: a server that accepts in a loop and serves each connection in a goroutine of its own; a client that opens a Socket per dial (closed with its connection, as TCP's connect takes a fresh port) or one that shares a Socket. Ratios are against TCP in the same shape; CPU is user+system time of the process holding both ends.\n\n")
	b.WriteString("| implementation | ping-pong server | p50 µs | p99 µs | p50 × TCP | p99 × TCP | CPU µs per round trip |\n|---|---|---|---|---|---|---|\n")
	for _, name := range shapeImpls {
		for _, prof := range []string{"", shapeAcceptLoop} {
			g := rep.group("pingpong", name, prof)
			if len(g.runs) == 0 {
				continue
			}
			a, ok := g.median(p50)
			c, _ := g.median(p99)
			cpu, _ := g.median(cpuEach)
			t50, okT := rep.med("pingpong", "tcp", prof, p50)
			t99, _ := rep.med("pingpong", "tcp", prof, p99)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, shapeName("pingpong", prof),
				fmtOr("%.1f", a, ok), fmtOr("%.1f", c, ok), fmtOr("%.2f", a/t50, ok && okT), fmtOr("%.2f", c/t99, ok && okT), fmtOr("%.1f", cpu, ok))
		}
	}
	b.WriteString("\n| implementation | dial + 1-byte echo + close | setups/s | × TCP | CPU µs per setup |\n|---|---|---|---|---|\n")
	for _, name := range shapeImpls {
		for _, prof := range []string{"", shapePerDial} {
			g := rep.group("setup", name, prof)
			if len(g.runs) == 0 {
				continue
			}
			v, ok := g.median(setupRate)
			cpu, _ := g.median(cpuEach)
			t, okT := rep.med("setup", "tcp", prof, setupRate)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, shapeName("setup", prof),
				fmtOr("%.0f", v, ok), fmtOr("%.2f", v/t, ok && okT), fmtOr("%.1f", cpu, ok))
		}
	}
	fmt.Fprintf(b, "\n%d connections × %s at once, every one dialed before any sends; drops are the kernel's receive-buffer drops on every UDP socket involved (the most of any round); peak memory is the growth of the process's peak resident set, per connection (both ends).\n\n", full.shapeConns, mib(full.shapePer))
	b.WriteString("| implementation | client | MB/s | × TCP | CPU s/GB | CPU/GB × TCP | drops | peak MiB per connection | completed (worst round) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range impls {
		for _, prof := range []string{shapeShared, shapePerDial} {
			g := rep.group("conns", name, prof)
			if len(g.runs) == 0 {
				continue
			}
			v, ok := g.median(mbps)
			cpu, _ := g.median(cpuPerGB)
			peak, _ := g.median(func(r result) float64 { return r.PeakPerConn / (1 << 20) })
			t, okT := rep.med("conns", "tcp", prof, mbps)
			tcpu, _ := rep.med("conns", "tcp", prof, cpuPerGB)
			drops, worst, of := mostDrops(g), -1, 0
			for _, r := range g.runs {
				if worst < 0 || r.Count < worst {
					worst, of = r.Count, r.Of
				}
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |\n", name, shapeName("conns", prof),
				rep.goodputCell("conns", name, prof, "%.0f"), fmtOr("%.2f", v/t, ok && okT), fmtOr("%.2f", cpu, ok),
				fmtOr("%.2f", cpu/tcpu, ok && okT), fmtOr("%.0f", float64(drops), name != "tcp"), fmtOr("%.2f", peak, ok), worst, of)
		}
	}
	b.WriteString("\n")
}

// mostDrops is the most receive-buffer drops of any run in g.
func mostDrops(g group) int64 {
	var most int64
	for _, r := range g.runs {
		most = max(most, r.Drops)
	}
	return most
}

// shapeTargets are issue 16's targets for the usage shapes, each against
// TCP in the same shape.
var shapeTargets = []target{
	{"ping-pong p50, server accepts in a loop", "≤ 1.2 × TCP", func(rep report) (float64, bool) {
		return rep.shapeRatio("pingpong", shapeAcceptLoop, p50)
	}, atMost(1.2), "×"},
	{"ping-pong p99, server accepts in a loop", "≤ 2 × TCP", func(rep report) (float64, bool) {
		return rep.shapeRatio("pingpong", shapeAcceptLoop, p99)
	}, atMost(2), "×"},
	{"setup rate, a Socket per dial", "≥ 1 × TCP", func(rep report) (float64, bool) {
		return rep.shapeRatio("setup", shapePerDial, setupRate)
	}, atLeast(1), "×"},
	{"64 connections, one shared Socket", "≥ 0.5 × TCP, all complete", func(rep report) (float64, bool) {
		return rep.connsRatio(shapeShared, mbps)
	}, atLeast(0.5), "×"},
	{"64 connections, a Socket each", "≥ 0.5 × TCP, all complete", func(rep report) (float64, bool) {
		return rep.connsRatio(shapePerDial, mbps)
	}, atLeast(0.5), "×"},
	{"64 connections CPU per GB, one shared Socket", "≤ 2 × TCP", func(rep report) (float64, bool) {
		return rep.connsRatio(shapeShared, cpuPerGB)
	}, atMost(2), "×"},
	{"64 connections CPU per GB, a Socket each", "≤ 2 × TCP", func(rep report) (float64, bool) {
		return rep.connsRatio(shapePerDial, cpuPerGB)
	}, atMost(2), "×"},
	{"64 connections receive-buffer drops", "0, every round, both shapes", func(rep report) (float64, bool) {
		a, b := rep.group("conns", "utp", shapeShared), rep.group("conns", "utp", shapePerDial)
		if len(a.runs)+len(b.runs) == 0 {
			return 0, false
		}
		return float64(max(mostDrops(a), mostDrops(b))), true
	}, atMost(0), "drops"},
}

// shapeRatio is our median of f over TCP's in one scenario and shape.
func (rep report) shapeRatio(scenario, shape string, f func(result) float64) (float64, bool) {
	a, okA := rep.med(scenario, "utp", shape, f)
	b, okB := rep.med(scenario, "tcp", shape, f)
	return ratio(a, b, okA, okB)
}

// connsRatio is shapeRatio for the 64 connections, which counts only if
// every connection completed in every round.
func (rep report) connsRatio(shape string, f func(result) float64) (float64, bool) {
	g := rep.group("conns", "utp", shape)
	if len(g.runs) == 0 || len(g.ok()) != len(g.runs) {
		return 0, false
	}
	return rep.shapeRatio("conns", shape, f)
}
