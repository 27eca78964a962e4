package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/inet256/go-utp/v2/e2e/realpath"
	"github.com/inet256/go-utp/v2/utp"
)

// The real-path scenarios (go run . realpath) run at kernel bottlenecks
// built by e2e/realpath: network namespaces, a tbf, a user-space delay
// line. They need root. Issue 14's table compares LEDBAT++ (our default),
// our LEDBAT (the controller before it), libutp and TCP cubic on a
// 10 Mbit/s, 400 ms-buffer, 40 ms path; issue 17's compares throughput on
// the longer and faster paths with TCP cubic and quic-go.

// rpTransports are the transports the real-path scenarios compare, by
// bench name.
func rpTransports() map[string]realpath.Transport {
	m := map[string]realpath.Transport{
		"utp":        realpath.UTP("utp"),
		"utp-ledbat": realpath.UTP("utp-ledbat", utp.WithCongestionControl(utp.LEDBAT)),
		"tcp":        realpath.TCP,
	}
	for _, name := range []string{"libutp", "quic-go"} {
		im, err := implByName(name)
		if err != nil {
			panic(err)
		}
		m[name] = realpath.Transport{Name: name, Open: im.open}
	}
	if rpBefore.Transport != nil {
		m["utp-before"] = *rpBefore.Transport
	}
	return m
}

// rpBefore is the library as it was at an earlier commit, when a build
// includes it: realpath-before.sh builds bench in a scratch copy with
// _before/before.go, which sets it (one module cannot require two builds
// of itself, so that file is not compiled here). Without it, "before" in
// the plots is our LEDBAT option.
var rpBefore struct {
	Transport *realpath.Transport
	Rev       string // the commit, as the report names it
}

// rpBeforeName is the bench name of what the plots show as "before".
func rpBeforeName() string {
	if rpBefore.Transport != nil {
		return "utp-before"
	}
	return "utp-ledbat"
}

// rpRole names what a plot shows, "before" or "after" (LEDBAT++).
func rpRole(role string) string {
	switch {
	case role == "after":
		return "after: LEDBAT++"
	case rpBefore.Transport != nil:
		return "before: the library at " + rpBefore.Rev
	}
	return "before: our LEDBAT option"
}

// rpOurs are our columns: the default, the earlier build when there is
// one, the LEDBAT option.
func rpOurs() []string {
	if rpBefore.Transport != nil {
		return []string{"utp", "utp-before", "utp-ledbat"}
	}
	return []string{"utp", "utp-ledbat"}
}

// rpTitle is a column's heading.
func rpTitle(name string) string {
	switch name {
	case "utp":
		return "ours (LEDBAT++)"
	case "utp-ledbat":
		return "ours, LEDBAT option"
	case "utp-before":
		return "before (" + rpBefore.Rev + ")"
	case "tcp":
		return "TCP cubic"
	}
	return name
}

// Windows of issue 14's scenarios (its table's spans) and issue 17's.
var (
	rpOneFlow  = realpath.Window{From: 5 * time.Second, To: 15 * time.Second}
	rpTCPJoin  = 5 * time.Second
	rpJoinWin  = realpath.Window{From: 7 * time.Second, To: 17 * time.Second}
	rpLateJoin = 10 * time.Second
	rpLateWin  = realpath.Window{From: 12 * time.Second, To: 35 * time.Second}
	rpBulkWin  = realpath.Window{From: 5 * time.Second, To: 15 * time.Second}
)

// rpResults are one round's figures, by transport name, and the load
// average around it.
type rpResults struct {
	one, longFat, gigabit map[string]realpath.OneFlow
	join, late            map[string]realpath.Pair
	load                  [2]float64 // one-minute load average at the start and the end
}

func realpathMain(args []string) int {
	fs := flag.NewFlagSet("realpath", flag.ExitOnError)
	rounds := fs.Int("rounds", 1, "interleaved rounds; the tables give medians")
	out := fs.String("out", "../docs/performance.md", "the report to update (between its realpath markers); empty: print only")
	plotDir := fs.String("plots", "../docs/perf", "where the plots go")
	save := fs.String("save", "", "also write the rounds' results, traces included, to this file (gob)")
	from := fs.String("from", "", "render the tables and plots from a -save file instead of measuring")
	only := fs.String("path", "", "run only these paths, comma-separated ("+strings.Join(rpPathNames, ", ")+"): each flow is logged, no tables or plots are written")
	fs.Parse(args)
	paths, err := rpPathSet(*only)
	if err != nil {
		log.Print(err)
		return 2
	}
	var run rpSaved
	if *from != "" {
		run, err = rpLoadSaved(*from)
	} else {
		run, err = rpMeasure(*rounds, paths)
		if err == nil && *save != "" {
			err = rpSave(*save, run)
		}
	}
	if err != nil {
		log.Print(err)
		return 1
	}
	if *only != "" {
		return 0 // the tables and plots need every path
	}
	all := run.results()
	var b bytes.Buffer
	rpRender(&b, run.When, run.Machine, all, relPath(filepath.Dir(*out), *plotDir))
	os.Stdout.Write(b.Bytes())
	if err := rpPlots(*plotDir, all); err != nil {
		log.Print(err)
		return 1
	}
	if *out == "" {
		return 0
	}
	if err := replaceSection(*out, rpBegin, rpEnd, b.String()); err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

const (
	rpBegin = "<!-- realpath:begin (written by bench/: go run . realpath) -->"
	rpEnd   = "<!-- realpath:end -->"
)

// replaceSection puts text between the markers in the file at path.
func replaceSection(path, begin, end, text string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(old)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q ... %q section", path, begin, end)
	}
	doc = doc[:i] + begin + "\n" + text + doc[j:]
	return os.WriteFile(path, []byte(doc), 0o644)
}

// rpPathNames name the paths for -path, in the order a round runs them.
var rpPathNames = []string{"background", "longfat", "gigabit"}

// rpPathSet parses -path: nil (every path) when it is empty.
func rpPathSet(list string) (map[string]bool, error) {
	if list == "" {
		return nil, nil
	}
	set := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		if !slices.Contains(rpPathNames, name) {
			return nil, fmt.Errorf("realpath -path: no path %q (have %s)", name, strings.Join(rpPathNames, ", "))
		}
		set[name] = true
	}
	return set, nil
}

// rpRound runs every scenario once, each transport in turn, on the paths
// in the set (nil: all).
func rpRound(round int, paths map[string]bool) (res rpResults, err error) {
	tr := rpTransports()
	res = rpResults{one: map[string]realpath.OneFlow{}, longFat: map[string]realpath.OneFlow{},
		gigabit: map[string]realpath.OneFlow{}, join: map[string]realpath.Pair{}, late: map[string]realpath.Pair{}}
	if paths != nil && !paths["background"] {
		return rpBulkRound(round, paths, tr, res)
	}
	err = withPath(realpath.Background, func(p *realpath.Path) error {
		for _, name := range append(rpOurs(), "libutp", "tcp") {
			if res.one[name], err = p.RunOneFlow(tr[name], rpOneFlow); err != nil {
				return err
			}
			log.Printf("round %d: %s alone: %s", round, name, rpOneLine(res.one[name]))
			if name != "tcp" {
				if res.join[name], err = p.RunPair(tr[name], tr["tcp"], rpTCPJoin, rpJoinWin); err != nil {
					return err
				}
				log.Printf("round %d: %s, TCP joins: our share %.1f%%", round, name, 100*res.join[name].Shares[0])
			}
			if res.late[name], err = p.RunPair(tr[name], tr[name], rpLateJoin, rpLateWin); err != nil {
				return err
			}
			l := res.late[name]
			log.Printf("round %d: %s latecomer: %.0f%% / %.0f%%, Jain %.2f, queue %v", round, name,
				100*l.Shares[0], 100*l.Shares[1], l.Jain, l.QueueP50.Round(time.Millisecond))
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return rpBulkRound(round, paths, tr, res)
}

// rpBulkRound runs issue 17's one-flow paths of the set (nil: both) into
// res.
func rpBulkRound(round int, paths map[string]bool, tr map[string]realpath.Transport, res rpResults) (rpResults, error) {
	for _, path := range []struct {
		name string
		cfg  realpath.Config
		m    map[string]realpath.OneFlow
	}{{"longfat", realpath.LongFat, res.longFat}, {"gigabit", realpath.Gigabit, res.gigabit}} {
		if paths != nil && !paths[path.name] {
			continue
		}
		err := withPath(path.cfg, func(p *realpath.Path) (err error) {
			for _, name := range append(rpOurs(), "tcp", "quic-go") {
				if path.m[name], err = p.RunOneFlow(tr[name], rpBulkWin); err != nil {
					return err
				}
				log.Printf("round %d: %v, %s: %s", round, path.cfg, name, rpOneLine(path.m[name]))
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func withPath(cfg realpath.Config, fn func(*realpath.Path) error) error {
	p, err := realpath.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	return fn(p)
}

func rpOneLine(r realpath.OneFlow) string {
	l := r.Trace.Losses
	s := fmt.Sprintf("%.2f Mbit/s, queue %v / %v; lost at the tbf %d, at sockets %d, at devices %d; delay line: %v", r.Rate/1e6,
		r.QueueP50.Round(time.Millisecond), r.QueueP95.Round(time.Millisecond), l.Bottleneck,
		l.ReceiverSocket+l.SenderSocket, l.Devices, r.Trace.DelayLine)
	if f := r.Trace.Flows[0]; len(f.Points) > 0 && f.Points[0].Ours {
		s += fmt.Sprintf("; sent %d packets, %d resent, %d recoveries (%d undone), %d timeouts; the receiver got %d, %d twice, %d late (at worst %v)",
			f.Final.PacketsSent, f.Final.Retransmits, f.Final.Recoveries, f.Final.SpuriousRecoveries, f.Final.Timeouts,
			f.FinalReceiver.PacketsReceived, f.FinalReceiver.Duplicates, f.FinalReceiver.ReceivedLate, f.FinalReceiver.LateWorst)
	}
	return s
}

// rpValues are f over the rounds, sorted.
func rpValues(all []rpResults, f func(rpResults) float64) []float64 {
	v := make([]float64, len(all))
	for i, r := range all {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v
}

// rpMed is the median of f over the rounds.
func rpMed(all []rpResults, f func(rpResults) float64) float64 {
	v := rpValues(all, f)
	return v[len(v)/2]
}

// rpMedianRound is the round whose f is the median, so that a plot shows
// a typical round rather than the last.
func rpMedianRound(all []rpResults, f func(rpResults) float64) rpResults {
	m := rpMed(all, f)
	for _, r := range all {
		if f(r) == m {
			return r
		}
	}
	return all[len(all)-1]
}

// loadAvg is the machine's one-minute load average (0 if unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
