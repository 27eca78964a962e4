package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// rpRender writes the real-path tables: issue 14's (background
// transport) and issue 17's (throughput beside TCP).
func rpRender(b *bytes.Buffer, all []rpResults, plotRel string) {
	fmt.Fprintf(b, "\nMeasured %s on %s; medians of %d round(s). Command: `cd bench && sudo go run . realpath -rounds %d`.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), len(all), len(all))
	fmt.Fprintf(b, "Path: %v; queueing delay from UDP probes every %v through the same queue.\n\n", realpath.Background, realpath.ProbeInterval)
	cols := []string{"utp", "utp-ledbat", "libutp", "tcp"}
	fmt.Fprintln(b, "| scenario | ours (LEDBAT++) | ours (LEDBAT) | libutp | TCP cubic |")
	fmt.Fprintln(b, "|---|---|---|---|---|")
	fmt.Fprintf(b, "| one flow: queueing delay median / p95 (%v–%v), rate |", rpOneFlow.From, rpOneFlow.To)
	for _, c := range cols {
		fmt.Fprintf(b, " %.0f / %.0f ms, %.2f Mbit/s |",
			rpMed(all, func(r rpResults) float64 { return ms(r.one[c].QueueP50) }),
			rpMed(all, func(r rpResults) float64 { return ms(r.one[c].QueueP95) }),
			rpMed(all, func(r rpResults) float64 { return r.one[c].Rate / 1e6 }))
	}
	fmt.Fprintf(b, "\n| a TCP flow joins at %v: our share over %v–%v |", rpTCPJoin, rpJoinWin.From, rpJoinWin.To)
	for _, c := range cols[:3] {
		fmt.Fprintf(b, " %.1f%% |", rpMed(all, func(r rpResults) float64 { return 100 * r.join[c].Shares[0] }))
	}
	fmt.Fprintf(b, " — |\n| a second flow joins at %v: shares over %v–%v, Jain index |", rpLateJoin, rpLateWin.From, rpLateWin.To)
	for _, c := range cols {
		fmt.Fprintf(b, " %.0f%% / %.0f%%, %.2f |",
			rpMed(all, func(r rpResults) float64 { return 100 * r.late[c].Shares[0] }),
			rpMed(all, func(r rpResults) float64 { return 100 * r.late[c].Shares[1] }),
			rpMed(all, func(r rpResults) float64 { return r.late[c].Jain }))
	}
	fmt.Fprintf(b, "\n| the same: queueing delay median / p95 from %v |", rpLateJoin+2*time.Second)
	for _, c := range cols {
		fmt.Fprintf(b, " %.0f / %.0f ms |",
			rpMed(all, func(r rpResults) float64 { return ms(r.late[c].QueueP50) }),
			rpMed(all, func(r rpResults) float64 { return ms(r.late[c].QueueP95) }))
	}
	fmt.Fprintf(b, "\n\n![latecomer, LEDBAT](%s/realpath-latecomer-ledbat.png)\n![latecomer, LEDBAT++](%s/realpath-latecomer-ledbatpp.png)\n\n", plotRel, plotRel)

	fmt.Fprintf(b, "Throughput over %v–%v of one flow (goodput, Mbit/s; queueing delay median):\n\n", rpBulkWin.From, rpBulkWin.To)
	fmt.Fprintln(b, "| path | ours (LEDBAT++) | ours (LEDBAT) | TCP cubic | quic-go | ours / TCP |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|")
	for _, path := range []struct {
		cfg realpath.Config
		m   func(rpResults) map[string]realpath.OneFlow
	}{{realpath.LongFat, func(r rpResults) map[string]realpath.OneFlow { return r.longFat }},
		{realpath.Gigabit, func(r rpResults) map[string]realpath.OneFlow { return r.gigabit }}} {
		fmt.Fprintf(b, "| %v |", path.cfg)
		for _, c := range []string{"utp", "utp-ledbat", "tcp", "quic-go"} {
			fmt.Fprintf(b, " %.1f (%.0f ms) |",
				rpMed(all, func(r rpResults) float64 { return path.m(r)[c].Rate / 1e6 }),
				rpMed(all, func(r rpResults) float64 { return ms(path.m(r)[c].QueueP50) }))
		}
		fmt.Fprintf(b, " %.2f× |\n", rpMed(all, func(r rpResults) float64 { return path.m(r)["utp"].Rate / path.m(r)["tcp"].Rate }))
	}
	fmt.Fprintf(b, "\n![100 Mbit/s, 100 ms, 200 ms buffer](%s/realpath-longfat.png)\n\n", plotRel)
}
