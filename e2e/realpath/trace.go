//go:build linux

package realpath

import (
	"fmt"
	"time"

	"github.com/inet256/go-utp/v2/utp"
	"golang.org/x/sys/unix"
)

// SampleInterval is how often Run records each flow's progress.
const SampleInterval = 100 * time.Millisecond

// baseline is the idle time Run probes before the first flow starts, so
// that the path's smallest round trip is measured on an empty queue.
const baseline = 500 * time.Millisecond

// A FlowSpec is a flow to run: its transport and when it starts.
type FlowSpec struct {
	Transport Transport
	Start     time.Duration
}

// A Point is one flow's state at a sample time.
type Point struct {
	At    time.Duration // since the run's start
	Bytes int64         // received so far
	// Ours is set when the flow is our library; then Window, InFlight
	// and Queue are its sender's congestion window, bytes in flight and
	// its own queueing-delay estimate.
	Ours             bool
	Window, InFlight int
	Queue            time.Duration
}

// A FlowTrace is one flow's progress.
type FlowTrace struct {
	Name   string
	Start  time.Duration
	Points []Point
	// Final is the sending connection's statistics at the end, when the
	// flow is ours (Points[i].Ours).
	Final utp.Stats
	// FinalReceiver is the receiving connection's statistics at the end:
	// its Duplicates tell spurious retransmissions from real ones.
	FinalReceiver utp.Stats
	// SenderSocket is the sending Socket's statistics at the end: its
	// SendErrors are packets our own sender lost before the kernel.
	SenderSocket utp.SocketStats
}

// A Trace is what Run saw: each flow's progress and the queue's delay.
type Trace struct {
	Config
	Duration time.Duration
	Flows    []FlowTrace
	// Probes are the probes' round trips, At relative to the run's start
	// (the idle baseline has negative times).
	Probes []Sample
	// BaseRTT is the smallest probe round trip: the path without queue.
	BaseRTT time.Duration
	// DelayDrops counts packets the delay line lost (it should be 0).
	DelayDrops int64
	// DelayLine says whether the delay line released packets on time
	// while the flows ran (the receivers' ACKs and the probes).
	DelayLine LineStats
	// DelayCPU is the CPU time the delay line used while the flows ran,
	// when it runs in a process of its own (DelayLineMain), else 0.
	DelayCPU time.Duration
	// CPU is the processor time this process used during the run, user
	// and system: both ends of a user-space transport and the probes,
	// and the delay line unless it runs in a process of its own
	// (DelayLineMain; DelayCPU is then its time). A kernel TCP's work is
	// mostly not counted here.
	CPU time.Duration
	// Losses are the packets the path dropped during the run.
	Losses Losses
	// Taps say how out of order uTP packets passed each hop while the
	// flows ran, when the path has taps (Config.Taps).
	Taps []TapStats
}

// Run runs flows on p for d, each starting at its Start, probing the
// queue throughout, and returns the trace.
func (p *Path) Run(d time.Duration, specs ...FlowSpec) (*Trace, error) {
	pr, err := p.StartProbe()
	if err != nil {
		return nil, err
	}
	defer pr.Stop()
	time.Sleep(baseline)
	tr := &Trace{Config: p.Config, Duration: d, Flows: make([]FlowTrace, len(specs))}
	for i, s := range specs {
		tr.Flows[i] = FlowTrace{Name: s.Transport.Name, Start: s.Start}
	}
	cpu0 := cpuTime()
	loss0, err := p.losses()
	if err != nil {
		return nil, err
	}
	if _, _, err := p.delay.stats(); err != nil { // counting from now
		return nil, err
	}
	if _, err := p.tapStats(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := p.runFlows(tr, t0, specs); err != nil {
		return nil, err
	}
	tr.CPU = cpuTime() - cpu0
	ds, _, err := p.delay.stats()
	if err != nil {
		return nil, err
	}
	tr.DelayLine, tr.DelayCPU = ds.Line, ds.CPU
	if tr.Taps, err = p.tapStats(); err != nil {
		return nil, err
	}
	// Let what is still on its way arrive (or not) before counting.
	time.Sleep(p.RTT + p.Buffer)
	loss1, err := p.losses()
	if err != nil {
		return nil, err
	}
	tr.Losses = loss1.sub(loss0)
	if _, tr.DelayDrops, err = p.delay.stats(); err != nil {
		return nil, err
	}
	for _, s := range pr.Stop() {
		s.At -= t0.Sub(pr.start)
		tr.Probes = append(tr.Probes, s)
		if tr.BaseRTT == 0 || s.RTT < tr.BaseRTT {
			tr.BaseRTT = s.RTT
		}
	}
	if len(tr.Probes) == 0 {
		return nil, fmt.Errorf("realpath: no probe came back on %v", p.Config)
	}
	return tr, nil
}

// runFlows starts each flow at its time, samples them all every
// SampleInterval until tr.Duration, records their final statistics and
// stops them.
func (p *Path) runFlows(tr *Trace, t0 time.Time, specs []FlowSpec) error {
	flows := make([]*flow, len(specs))
	defer func() {
		for _, f := range flows {
			if f != nil {
				f.stop()
			}
		}
	}()
	tick := time.NewTicker(SampleInterval)
	defer tick.Stop()
	for {
		for i, s := range specs {
			if flows[i] == nil && time.Since(t0) >= s.Start {
				f, err := p.startFlow(s.Transport)
				if err != nil {
					return err
				}
				flows[i] = f
			}
		}
		now := time.Since(t0)
		for i, f := range flows {
			if f != nil {
				tr.Flows[i].Points = append(tr.Flows[i].Points, f.point(now))
			}
		}
		if now >= tr.Duration {
			break
		}
		<-tick.C
	}
	for i, f := range flows {
		tr.Flows[i].Final, _ = f.stats()
		if c, ok := f.sc.(*utp.Conn); ok {
			tr.Flows[i].FinalReceiver = c.Stats()
		}
		if e, ok := f.cli.(utpEndpoint); ok {
			tr.Flows[i].SenderSocket = e.Socket.Stats()
		}
	}
	return nil
}

// point is the flow's state now.
func (f *flow) point(at time.Duration) Point {
	pt := Point{At: at, Bytes: f.received.Load()}
	if st, ok := f.stats(); ok {
		pt.Ours, pt.Window, pt.InFlight, pt.Queue = true, st.Window, st.InFlight, st.QueuingDelay
	}
	return pt
}

// cpuTime is the processor time the process has used so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
