package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// rpRender writes the real-path tables: issue 14's (background
// transport) and issue 17's (throughput beside TCP). Each figure is the
// median over the rounds, with the range after it in parentheses when
// there was more than one round.
func rpRender(b *bytes.Buffer, when time.Time, where string, all []rpResults, plotRel string) {
	fmt.Fprintf(b, "\nMeasured %s on %s; medians of %d round(s), ranges in parentheses. Command: `%s`.\n\n",
		when.UTC().Format("2006-01-02 15:04 MST"), where, len(all), rpCommand(len(all)))
	fmt.Fprintf(b, "%s %s\n\n", rpLoad(all), rpBeforeText())
	fmt.Fprintf(b, "Path: %v; queueing delay from UDP probes every %v through the same queue.\n\n", realpath.Background, realpath.ProbeInterval)
	cols := append(rpOurs(), "libutp", "tcp")
	rpHeader(b, "scenario", cols)
	fmt.Fprintf(b, "| one flow: queueing delay median / p95 (%v–%v), rate |", rpOneFlow.From, rpOneFlow.To)
	for _, c := range cols {
		fmt.Fprintf(b, " %s / %s ms, %s Mbit/s |",
			rpSpread(all, "%.0f", func(r rpResults) float64 { return ms(r.one[c].QueueP50) }),
			rpSpread(all, "%.0f", func(r rpResults) float64 { return ms(r.one[c].QueueP95) }),
			rpSpread(all, "%.2f", func(r rpResults) float64 { return r.one[c].Rate / 1e6 }))
	}
	fmt.Fprintf(b, "\n| a TCP flow joins at %v: our share over %v–%v |", rpTCPJoin, rpJoinWin.From, rpJoinWin.To)
	for _, c := range cols[:len(cols)-1] {
		fmt.Fprintf(b, " %s%% |", rpSpread(all, "%.1f", func(r rpResults) float64 { return 100 * r.join[c].Shares[0] }))
	}
	fmt.Fprintf(b, " — |\n| a second flow joins at %v: shares over %v–%v, Jain index |", rpLateJoin, rpLateWin.From, rpLateWin.To)
	for _, c := range cols {
		fmt.Fprintf(b, " %.0f%% / %.0f%%, %s |",
			rpMed(all, func(r rpResults) float64 { return 100 * r.late[c].Shares[0] }),
			rpMed(all, func(r rpResults) float64 { return 100 * r.late[c].Shares[1] }),
			rpSpread(all, "%.2f", func(r rpResults) float64 { return r.late[c].Jain }))
	}
	fmt.Fprintf(b, "\n| the same: queueing delay median / p95 from %v |", rpLateJoin+2*time.Second)
	for _, c := range cols {
		fmt.Fprintf(b, " %s / %s ms |",
			rpSpread(all, "%.0f", func(r rpResults) float64 { return ms(r.late[c].QueueP50) }),
			rpSpread(all, "%.0f", func(r rpResults) float64 { return ms(r.late[c].QueueP95) }))
	}
	fmt.Fprintf(b, "\n\n%s\n\n", rpLine(all, realpath.Background, func(r rpResults) []*realpath.Trace {
		var ts []*realpath.Trace
		for _, c := range cols {
			ts = append(ts, r.one[c].Trace, r.join[c].Trace, r.late[c].Trace)
		}
		return ts
	}))
	fmt.Fprintf(b, "The latecomer scenario (%s; %s), in the round whose Jain index is the median: each flow's window, and the queueing delay the probes saw (median per %v).\n\n",
		rpRole("before"), rpRole("after"), rpBin)
	fmt.Fprintf(b, "![latecomer, before](%s/realpath-latecomer-before.png)\n![latecomer, after](%s/realpath-latecomer-after.png)\n\n", plotRel, plotRel)
	rpThroughput(b, all, plotRel)
}

// rpThroughput writes issue 17's table and the 100 ms path's plots.
func rpThroughput(b *bytes.Buffer, all []rpResults, plotRel string) {
	fmt.Fprintf(b, "Throughput over %v–%v of one flow (goodput, Mbit/s; queueing delay median):\n\n", rpBulkWin.From, rpBulkWin.To)
	cols := append(rpOurs(), "tcp", "quic-go")
	rpHeader(b, "path", append(cols, "ours / TCP"))
	paths := []struct {
		cfg realpath.Config
		m   func(rpResults) map[string]realpath.OneFlow
	}{{realpath.LongFat, func(r rpResults) map[string]realpath.OneFlow { return r.longFat }},
		{realpath.Gigabit, func(r rpResults) map[string]realpath.OneFlow { return r.gigabit }}}
	for _, path := range paths {
		fmt.Fprintf(b, "| %v |", path.cfg)
		for _, c := range cols {
			fmt.Fprintf(b, " %s (%.0f ms) |",
				rpSpread(all, "%.1f", func(r rpResults) float64 { return path.m(r)[c].Rate / 1e6 }),
				rpMed(all, func(r rpResults) float64 { return ms(path.m(r)[c].QueueP50) }))
		}
		fmt.Fprintf(b, " %s× |\n", rpSpread(all, "%.2f", func(r rpResults) float64 { return path.m(r)["utp"].Rate / path.m(r)["tcp"].Rate }))
	}
	b.WriteString("\n")
	for _, path := range paths {
		fmt.Fprintf(b, "%s\n\n", rpLine(all, path.cfg, func(r rpResults) []*realpath.Trace {
			var ts []*realpath.Trace
			for _, c := range cols {
				ts = append(ts, path.m(r)[c].Trace)
			}
			return ts
		}))
	}
	fmt.Fprintf(b, "%v (%s; %s), in the round whose rate is the median: the sender's window and bytes in flight, and the queueing delay the probes saw (median per %v).\n\n",
		realpath.LongFat, rpRole("before"), rpRole("after"), rpBin)
	fmt.Fprintf(b, "![100 Mbit/s, 100 ms, before](%s/realpath-longfat-before.png)\n![100 Mbit/s, 100 ms, after](%s/realpath-longfat-after.png)\n\n", plotRel, plotRel)
}

// rpHeader writes a table's heading row and rule.
func rpHeader(b *bytes.Buffer, first string, cols []string) {
	fmt.Fprintf(b, "| %s |", first)
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", rpTitle(c))
	}
	fmt.Fprintf(b, "\n|%s\n", strings.Repeat("---|", len(cols)+1))
}

// rpSpread formats f's median over the rounds with verb and, with more
// than one round, its range: "54 (50–60)".
func rpSpread(all []rpResults, verb string, f func(rpResults) float64) string {
	v := rpValues(all, f)
	s := fmt.Sprintf(verb, v[len(v)/2])
	if len(v) > 1 {
		s += fmt.Sprintf(" ("+verb+"–"+verb+")", v[0], v[len(v)-1])
	}
	return s
}

// rpLine sums the delay line's timekeeping over a path's runs in every
// round, and names the worst run.
func rpLine(all []rpResults, cfg realpath.Config, traces func(rpResults) []*realpath.Trace) string {
	var sum realpath.LineStats
	worst := 0.0
	for _, r := range all {
		for _, t := range traces(r) {
			if t == nil {
				continue
			}
			s := t.DelayLine
			sum.Released += s.Released
			sum.Late += s.Late
			sum.TotalLate += s.TotalLate
			sum.Worst = max(sum.Worst, s.Worst)
			if s.Released > 0 {
				worst = max(worst, float64(s.Late)/float64(s.Released))
			}
		}
	}
	return fmt.Sprintf("Delay line on the %v path, all runs: %v; in the worst run %.2f%% of packets were late.", cfg, sum, 100*worst)
}

// rpLoad describes the machine's load during the rounds.
func rpLoad(all []rpResults) string {
	lo, hi := all[0].load[0], all[0].load[0]
	for _, r := range all {
		lo, hi = min(lo, r.load[0], r.load[1]), max(hi, r.load[0], r.load[1])
	}
	return fmt.Sprintf("One-minute load average at the rounds' starts and ends: %.1f–%.1f on %d CPUs.", lo, hi, numCPU())
}

// rpBeforeText says what "before" is in this report.
func rpBeforeText() string {
	if rpBefore.Transport != nil {
		return "\"Before\" is the library at commit " + rpBefore.Rev +
			", built into the same harness (realpath-before.sh): RFC 6817 LEDBAT and the loss recovery from before issues 14 and 17; \"LEDBAT option\" is today's library with `utp.WithCongestionControl(utp.LEDBAT)`."
	}
	return "\"Before\" in the plots is today's library with `utp.WithCongestionControl(utp.LEDBAT)` (RFC 6817 LEDBAT, today's loss recovery); realpath-before.sh adds the library at an earlier commit."
}

// rpCommand is the command that makes this report.
func rpCommand(rounds int) string {
	if rpBefore.Transport != nil {
		return fmt.Sprintf("cd bench && sudo ./realpath-before.sh %s -rounds %d", rpBefore.Rev, rounds)
	}
	return fmt.Sprintf("cd bench && sudo go run . realpath -rounds %d", rounds)
}
