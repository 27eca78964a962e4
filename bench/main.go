// Command bench is go-utp's performance suite: our uTP beside TCP, quic-go
// (one stream), libutp (through go-libutp) and anacrolix/utp, on loopback,
// in interleaved rounds. It writes the tables, the ratios against the
// targets and the plots into docs/performance.md:
//
//	cd bench && go run . [-rounds 3] [-only bulk,setup] [-impls utp,tcp]
//
// Every measurement runs in a fresh process (the same binary as a worker),
// so that CPU time, memory and leftovers of one implementation do not
// colour another's figures. One worker can be run by hand, with a profile:
//
//	go run . worker -scenario setup -impl utp -cpuprofile cpu.out
//
// The real kernel bottlenecks of e2e/realpath (network namespaces, a tbf,
// a delay line; root only) have their own tables and plots, in the
// "Real paths" part of docs/performance.md:
//
//	cd bench && sudo go run . realpath [-rounds 3] [-save run.gob | -from run.gob]
//
// or, to watch one path's flows in the log without the tables:
//
//	cd bench && sudo go run . realpath -path gigabit [-rounds 3]
//
// and with the library at an earlier commit as a "before" column and in
// the before-and-after plots (it builds a scratch copy of bench that
// includes that build):
//
//	cd bench && sudo ./realpath-before.sh 7d36963 [-rounds 3]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/inet256/go-utp/v2/e2e/realpath"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// sizes are the scenario parameters; quick ones check that the suite
// works, in seconds.
type sizes struct {
	bulk                  int64
	bulkLimit             time.Duration
	pingTime, setupTime   time.Duration
	fanConns              int
	fanPer                int64
	fanLimit              time.Duration
	shapeConns            int
	shapePer              int64
	scaleConns, scaleBusy int
	lossySize             int64
	lossyLimit            time.Duration
}

var (
	full = sizes{
		bulk: 256 << 20, bulkLimit: 90 * time.Second,
		pingTime: 3 * time.Second, setupTime: 3 * time.Second,
		fanConns: 64, fanPer: 8 << 20, fanLimit: 60 * time.Second,
		shapeConns: 64, shapePer: 2 << 20,
		scaleConns: 10000, scaleBusy: 1000,
		lossySize: 16 << 20, lossyLimit: 60 * time.Second,
	}
	quick = sizes{
		bulk: 4 << 20, bulkLimit: 20 * time.Second,
		pingTime: 200 * time.Millisecond, setupTime: 200 * time.Millisecond,
		fanConns: 4, fanPer: 256 << 10, fanLimit: 20 * time.Second,
		shapeConns: 4, shapePer: 256 << 10,
		scaleConns: 100, scaleBusy: 10,
		lossySize: 256 << 10, lossyLimit: 20 * time.Second,
	}
)

// scenarioImpls says which implementations each scenario measures. TCP
// cannot pass the UDP relay; scale keeps 10,000 connections on one socket,
// which only the uTP implementations do (TCP would need 20,000 file
// descriptors in one process, beyond this machine's limit).
var scenarioImpls = map[string][]string{
	"bulk":     {"utp", "utp-1452", "tcp", "quic-go", "libutp", "anacrolix"},
	"pingpong": {"utp", "tcp", "quic-go", "libutp", "anacrolix"},
	"setup":    {"utp", "tcp", "quic-go", "libutp", "anacrolix"},
	"fanout":   {"utp", "tcp", "quic-go", "libutp", "anacrolix"},
	"conns":    {"utp", "tcp", "quic-go"},
	"scale":    {"utp", "libutp"},
	"lossy":    {"utp", "utp-1452", "quic-go", "libutp", "anacrolix"},
	"veth":     {"utp", "tcp", "quic-go"},
}

var scenarioOrder = []string{"bulk", "pingpong", "setup", "fanout", "conns", "scale", "lossy", "veth"}

// shapeImpls are the implementations measured in the usage shapes
// (issue 16): ours beside TCP and quic-go.
var shapeImpls = []string{"utp", "tcp", "quic-go"}

// profilesOf lists the variants a scenario runs for an implementation:
// the relay's profiles for lossy, the usage shapes where they apply ("" is
// the scenario's original form).
func profilesOf(scenario, implName string) []string {
	var shapes []string
	switch scenario {
	case "lossy":
		var out []string
		for _, p := range lossProfiles {
			out = append(out, p.name)
		}
		return out
	case "conns":
		return []string{shapeShared, shapePerDial}
	case "pingpong":
		shapes = []string{"", shapeAcceptLoop}
	case "setup":
		shapes = []string{"", shapePerDial}
	default:
		return []string{""}
	}
	if !slices.Contains(shapeImpls, implName) {
		return shapes[:1]
	}
	return shapes
}

func main() {
	// A real-path run re-executes this binary as each path's delay line,
	// so that the line does not share the scheduler with the stacks it
	// measures; in such a child this serves the line and exits.
	realpath.DelayLineMain()
	log.SetFlags(0)
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(workerMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "realpath" {
		os.Exit(realpathMain(os.Args[2:]))
	}
	rounds := flag.Int("rounds", 3, "rounds of every measurement; the report gives medians")
	only := flag.String("only", "", "comma-separated scenarios to run (default all; also inet256, ledbat)")
	implList := flag.String("impls", "", "comma-separated implementations to run (default all)")
	isQuick := flag.Bool("quick", false, "tiny sizes: check that the suite works")
	out := flag.String("out", "../docs/performance.md", "the report to update (between its bench markers)")
	resultsFile := flag.String("results", "../docs/perf/results.json", "where raw results are written")
	from := flag.String("from", "", "regenerate the report from this results file instead of measuring")
	flag.Parse()

	var rep report
	if *from != "" {
		b, err := os.ReadFile(*from)
		if err != nil {
			log.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			log.Fatalf("%s: %v", *from, err)
		}
	} else {
		sz := full
		if *isQuick {
			sz = quick
		}
		rep = measure(*rounds, split(*only), split(*implList), sz, *isQuick)
		b, _ := json.MarshalIndent(rep, "", " ")
		if err := os.MkdirAll(filepath.Dir(*resultsFile), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*resultsFile, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if err := writeReport(rep, *out, filepath.Dir(*resultsFile)); err != nil {
		log.Fatal(err)
	}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func selected(list []string, name string) bool { return list == nil || slices.Contains(list, name) }

// measure runs every selected measurement, rounds times, interleaved:
// each round runs every scenario for every implementation once, in the
// suite's order in odd rounds and in the reverse order in even ones, so
// that no implementation always runs first (a machine that idled may run
// its first process slower) or always right after the same other one.
func measure(rounds int, only, implNames []string, sz sizes, isQuick bool) report {
	rep := report{Started: time.Now().UTC(), Rounds: rounds, Command: commandLine(), Machine: machine()}
	for round := 1; round <= rounds; round++ {
		for _, sc := range scenarioOrder {
			if !selected(only, sc) {
				continue
			}
			for _, name := range roundOrder(scenarioImpls[sc], round) {
				if !selected(implNames, name) {
					continue
				}
				for _, prof := range profilesOf(sc, name) {
					r := runWorker(sc, name, prof, isQuick)
					log.Printf("round %d: %s", round, r.summary())
					rep.Results = append(rep.Results, r)
				}
			}
		}
	}
	if selected(only, "inet256") {
		rep.INET256 = measureINET256(rounds, isQuick)
	}
	if selected(only, "ledbat") {
		rep.LEDBAT = traceLEDBAT()
	}
	return rep
}

// roundOrder is impls in the order round runs them: as listed in odd
// rounds, reversed in even ones.
func roundOrder(impls []string, round int) []string {
	if round%2 == 1 {
		return impls
	}
	rev := slices.Clone(impls)
	slices.Reverse(rev)
	return rev
}

// runWorker runs one measurement in a new process of this binary.
func runWorker(scenario, implName, profile string, isQuick bool) result {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"worker", "-scenario", scenario, "-impl", implName, "-profile", profile}
	if isQuick {
		args = append(args, "-quick")
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	var r result
	if jerr := json.Unmarshal(lastLine(stdout.Bytes()), &r); jerr != nil {
		r = result{Scenario: scenario, Impl: implName, Profile: profile}
		r.Err = fmt.Sprintf("worker failed: %v", err)
		if ctx.Err() != nil {
			r.Err = "worker killed after 5 minutes"
		}
	}
	return r
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

// workerMain runs one measurement and prints its result as JSON.
func workerMain(args []string) int {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	scenario := fs.String("scenario", "", "")
	implName := fs.String("impl", "", "")
	profile := fs.String("profile", "", "")
	isQuick := fs.Bool("quick", false, "")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measurement to this file")
	fs.BoolVar(&debugStats, "stats", false, "print our connections' counters (bulk, veth) to standard error")
	fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Print(err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Print(err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	sz := full
	if *isQuick {
		sz = quick
	}
	im, err := implByName(*implName)
	if err != nil {
		log.Print(err)
		return 2
	}
	var r result
	switch *scenario {
	case "bulk":
		r = bulk(im, sz.bulk, sz.bulkLimit)
	case "veth":
		r = veth(im, sz.bulk, sz.bulkLimit)
	case "pingpong":
		r = pingPong(im, sz.pingTime, 200000, *profile)
	case "setup":
		r = setup(im, sz.setupTime, 100000, *profile)
	case "fanout":
		r = fanout(im, sz.fanConns, sz.fanPer, sz.fanLimit)
	case "conns":
		r = conns(im, *profile, sz.shapeConns, sz.shapePer, sz.fanLimit)
	case "scale":
		r = scale(im, sz.scaleConns, sz.scaleBusy)
	case "lossy":
		prof, err := profileByName(*profile)
		if err != nil {
			log.Print(err)
			return 2
		}
		r = lossy(im, prof, sz.lossySize, sz.lossyLimit)
	default:
		log.Printf("unknown scenario %q", *scenario)
		return 2
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	return 0
}

func (r result) summary() string {
	s := fmt.Sprintf("%s %s", r.Scenario, r.Impl)
	if r.Profile != "" {
		s += " " + r.Profile
	}
	switch r.Scenario {
	case "bulk", "fanout", "lossy", "veth":
		s += fmt.Sprintf(": %.1f MB/s, %.2f CPU s/GB, %d drops", r.MBps(), r.CPUPerGB(), r.Drops)
	case "conns":
		s += fmt.Sprintf(": %.1f MB/s, %.2f CPU s/GB, %d drops, %.2f MiB peak per connection", r.MBps(), r.CPUPerGB(), r.Drops, r.PeakPerConn/(1<<20))
		if r.Resent+r.Timeouts+r.TailProbes > 0 {
			s += fmt.Sprintf("; senders: %d resent, %d timeouts (%d spurious), %d tail probes", r.Resent, r.Timeouts, r.Spurious, r.TailProbes)
		}
	case "pingpong":
		s += fmt.Sprintf(": p50 %.1f µs, p99 %.1f µs, %.1f µs CPU each (%d)", r.P50, r.P99, cpuEach(r), r.Count)
	case "setup":
		s += fmt.Sprintf(": %.0f /s, %.1f µs CPU each", setupRate(r), cpuEach(r))
	case "scale":
		s += fmt.Sprintf(": %.0f B Go, %.0f B RSS per end; active %.2f s, %.0f B per end", r.GoPerConn, r.RSSPerConn, r.ActiveSeconds, r.ActivePerConn)
	}
	if r.Err != "" {
		s += " ERROR: " + r.Err
	}
	return s
}

func commandLine() string {
	return "cd bench && go run . " + strings.Join(os.Args[1:], " ")
}

// machine describes where the suite ran.
func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
		f.Close()
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d CPUs, Linux %s", cpu, numCPU(), strings.TrimSpace(string(kernel)))
}
