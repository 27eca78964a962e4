package netsim

import (
	"net"
	"slices"
	"testing"
	"time"
)

var _ net.Addr = Addr("")

type rec struct {
	at       time.Time
	from, to Addr
	n        int
	first    byte
}

// lossyPath is a link with every impairment at once.
var lossyPath = LinkConfig{
	Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond,
	Loss: 0.02, Duplicate: 0.02, Reorder: 0.02,
	Rate: 2_000_000, QueueBytes: 20_000, MTU: 1400,
}

// runTrace has a send 3000 packets (sizes from the Sim's Rand, some over
// the MTU, offered faster than the bottleneck) to b, which echoes a short
// ACK, and records every delivery.
func runTrace(seed uint64, extraDraws bool, fixedSize bool) []rec {
	s := New(seed)
	var trace []rec
	s.OnDeliver = func(now time.Time, from, to Addr, n int) {
		trace = append(trace, rec{at: now, from: from, to: to, n: n})
	}
	var b *Node
	a := s.NewNode("a", func(now time.Time, from Addr, p []byte) {
		trace[len(trace)-1].first = p[0]
	})
	b = s.NewNode("b", func(now time.Time, from Addr, p []byte) {
		trace[len(trace)-1].first = p[0]
		b.Send(from, p[:40])
	})
	s.Connect(a, b, lossyPath, LinkConfig{Delay: 20 * time.Millisecond, Loss: 0.01})
	buf := make([]byte, 1500)
	sent := 0
	var tick *Timer
	tick = s.NewTimer(func() {
		n := 1200
		if !fixedSize {
			n = 1000 + s.Rand().IntN(500)
		}
		if extraDraws {
			s.Rand().Uint64()
		}
		buf[0] = byte(sent)
		a.Send("b", buf[:n])
		if sent++; sent < 3000 {
			tick.Reset(s.Now().Add(4 * time.Millisecond))
		}
	})
	tick.Reset(s.Now())
	s.RunUntil(s.Now().Add(time.Minute))
	return trace
}

func TestDeterministicTrace(t *testing.T) {
	a, b := runTrace(1, false, false), runTrace(1, false, false)
	if len(a) < 4000 {
		t.Fatalf("only %d deliveries", len(a))
	}
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different traces")
	}
	if c := runTrace(2, false, false); slices.Equal(a, c) {
		t.Fatal("different seeds, same trace")
	}
}

// Draws from Sim.Rand must not perturb the links' streams.
func TestRandIndependentOfLinks(t *testing.T) {
	if !slices.Equal(runTrace(7, false, true), runTrace(7, true, true)) {
		t.Fatal("drawing from Sim.Rand changed link behaviour")
	}
}

func TestSendUnknownDestination(t *testing.T) {
	s := New(1)
	a := s.NewNode("a", nil)
	if a.Send("nowhere", []byte("x")) {
		t.Fatal("Send to unknown address returned true")
	}
	if s.Unroutable() != 1 || s.Pending() != 0 {
		t.Fatalf("Unroutable=%d Pending=%d", s.Unroutable(), s.Pending())
	}
	if a.Addr().Network() != "netsim" || a.Addr().String() != "a" {
		t.Fatal("Addr methods")
	}
}

func TestSendCopiesAndBufferValidity(t *testing.T) {
	s := New(1)
	var got []string
	a := s.NewNode("a", nil)
	b := s.NewNode("b", func(_ time.Time, _ Addr, p []byte) { got = append(got, string(p)) })
	s.Connect(a, b, LinkConfig{Delay: time.Millisecond}, LinkConfig{})
	msg := []byte("hello")
	a.Send("b", msg)
	copy(msg, "XXXXX") // Send must have copied
	a.Send("b", []byte("hi"))
	for s.Step() {
	}
	if !slices.Equal(got, []string{"hello", "hi"}) {
		t.Fatalf("got %q", got)
	}
	if s.Now() != s.Start().Add(time.Millisecond) || s.Elapsed() != time.Millisecond {
		t.Fatalf("Now %v", s.Now())
	}
}

func TestTimerLastArmingWins(t *testing.T) {
	s := New(1)
	var fired []time.Time
	tm := s.NewTimer(func() { fired = append(fired, s.Now()) })
	t1 := s.Now().Add(time.Second)
	tm.Reset(s.Now().Add(3 * time.Second))
	tm.Reset(s.Now().Add(2 * time.Second))
	tm.Reset(t1) // earlier
	tm.Reset(s.Now().Add(5 * time.Second))
	tm.Reset(t1.Add(time.Second)) // later than t1, earlier than 5s
	if s.Pending() != 1 || !tm.Armed() || !tm.When().Equal(t1.Add(time.Second)) {
		t.Fatalf("Pending=%d Armed=%v When=%v", s.Pending(), tm.Armed(), tm.When())
	}
	s.RunUntil(s.Now().Add(time.Minute))
	if len(fired) != 1 || !fired[0].Equal(t1.Add(time.Second)) {
		t.Fatalf("fired %v", fired)
	}
	if tm.Armed() || !tm.When().IsZero() {
		t.Fatal("fired timer still armed")
	}

	tm.Reset(s.Now().Add(time.Second))
	tm.Stop()
	tm.Stop() // idempotent
	tm.Reset(s.Now().Add(time.Second))
	tm.Reset(time.Time{}) // zero disarms
	s.RunUntil(s.Now().Add(time.Minute))
	if len(fired) != 1 || s.Pending() != 0 {
		t.Fatalf("stopped timer fired: %v", fired)
	}
}

func TestTimerRearmFromCallback(t *testing.T) {
	s := New(1)
	n := 0
	var tm *Timer
	tm = s.NewTimer(func() {
		if n++; n < 10 {
			tm.Reset(s.Now().Add(time.Millisecond))
		}
	})
	tm.Reset(s.Now())
	s.RunUntil(s.Now().Add(time.Second))
	if n != 10 {
		t.Fatalf("fired %d times", n)
	}
}

func TestEqualTimesRunInInsertionOrder(t *testing.T) {
	s := New(1)
	at := s.Now().Add(time.Second)
	var order []int
	for i := range 50 {
		if i%5 == 0 {
			tm := s.NewTimer(func() { order = append(order, i) })
			tm.Reset(at.Add(time.Hour)) // armed first elsewhere...
			tm.Reset(at)                // ...so its place is fixed by this call
			continue
		}
		s.Schedule(at, func() { order = append(order, i) })
	}
	s.Schedule(at.Add(-time.Millisecond), func() {
		// Scheduled while running, at the same instant: runs after all of
		// the above.
		s.Schedule(at, func() { order = append(order, 50) })
	})
	s.RunUntil(at)
	want := make([]int, 51)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v", order)
	}
}

func TestScheduleInPastRunsNow(t *testing.T) {
	s := New(1)
	s.RunUntil(s.Now().Add(time.Hour))
	var ran time.Time
	s.Schedule(s.Start(), func() { ran = s.Now() })
	s.Schedule(time.Time{}, func() {})
	s.After(-time.Second, func() {})
	if !s.Step() || !ran.Equal(s.Start().Add(time.Hour)) {
		t.Fatalf("ran at %v", ran)
	}
	s.RunUntil(s.Start()) // backwards: no-op
	if s.Elapsed() != time.Hour || s.Pending() != 2 {
		t.Fatalf("Elapsed %v Pending %d", s.Elapsed(), s.Pending())
	}
}

func TestRunWhileTerminates(t *testing.T) {
	s := New(1)
	// Empty queue.
	if !s.RunWhile(func() bool { return true }, s.Now().Add(time.Hour)) {
		t.Fatal("cond became false")
	}
	if s.Elapsed() != time.Hour {
		t.Fatalf("clock %v, want the deadline", s.Elapsed())
	}
	// An endless ticker stops at the deadline.
	ticks := 0
	var tm *Timer
	tm = s.NewTimer(func() { ticks++; tm.Reset(s.Now().Add(time.Second)) })
	tm.Reset(s.Now())
	deadline := s.Now().Add(10 * time.Second)
	if !s.RunWhile(func() bool { return true }, deadline) {
		t.Fatal("cond became false")
	}
	if ticks != 11 || !s.Now().Equal(deadline) {
		t.Fatalf("ticks %d Now %v", ticks, s.Now())
	}
	// cond turning false stops it.
	if s.RunWhile(func() bool { return ticks < 15 }, s.Now().Add(time.Hour)) {
		t.Fatal("returned true")
	}
	if ticks != 15 {
		t.Fatalf("ticks %d", ticks)
	}
}

func TestLivelockPanics(t *testing.T) {
	old := maxSameInstant
	maxSameInstant = 1000
	defer func() { maxSameInstant = old }()
	s := New(1)
	var loop func()
	loop = func() { s.Schedule(s.Now(), loop) }
	s.Schedule(s.Now(), loop)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	s.RunWhile(func() bool { return true }, s.Now().Add(time.Second))
}

func TestNodeClock(t *testing.T) {
	s := New(1)
	n := s.NewNode("a", nil)
	n.SetClockOffset(-3 * time.Second)
	n.SetClockSkew(100e-6) // 100 ppm fast
	if got := n.Now().Sub(s.Now()); got != -3*time.Second {
		t.Fatalf("offset at start %v", got)
	}
	s.RunUntil(s.Now().Add(1000 * time.Second))
	if got := n.Now().Sub(s.Now()); got != -3*time.Second+100*time.Millisecond {
		t.Fatalf("offset after 1000s %v", got)
	}
}

func TestNodeLookupAndPanics(t *testing.T) {
	s := New(1)
	a, b := s.NewNode("a", nil), s.NewNode("b", nil)
	ab, ba := s.Connect(a, b, LinkConfig{Delay: 1}, LinkConfig{Delay: 2})
	if s.Node("a") != a || s.Node("x") != nil || a.Link("b") != ab || b.Link("a") != ba || a.Link("x") != nil || a.Sim() != s {
		t.Fatal("lookup")
	}
	mustPanic(t, func() { s.NewNode("a", nil) })
	mustPanic(t, func() { s.Connect(b, a, LinkConfig{}, LinkConfig{}) })
	mustPanic(t, func() { s.Connect(a, a, LinkConfig{}, LinkConfig{}) })
}

func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	f()
}

// pump sends n packets of size bytes from a to b every `every`, and runs
// until all have been delivered or dropped.
func pump(s *Sim, a *Node, to Addr, n, size int, every time.Duration) {
	buf := make([]byte, size)
	sent := 0
	var tm *Timer
	tm = s.NewTimer(func() {
		a.Send(to, buf)
		if sent++; sent < n {
			tm.Reset(s.Now().Add(every))
		}
	})
	tm.Reset(s.Now())
	for s.Step() {
	}
}

// 200k packets through one rate-limited link in a single run.
func TestSimManyPackets(t *testing.T) {
	const n = 200_000
	s := New(3)
	received, bytes := 0, 0
	a := s.NewNode("a", nil)
	b := s.NewNode("b", func(_ time.Time, _ Addr, p []byte) { received++; bytes += len(p) })
	ab, _ := s.Connect(a, b, LinkConfig{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, Rate: 100_000_000, Loss: 0.01}, LinkConfig{})
	var firstAt, lastAt time.Time
	s.OnDeliver = func(now time.Time, _, _ Addr, _ int) {
		if firstAt.IsZero() {
			firstAt = now
		}
		lastAt = now
	}
	pump(s, a, "b", n, 1000, 80*time.Microsecond) // 100 Mbit/s offered: link fully used
	st := ab.Stats()
	if int64(received) != st.Delivered || st.Sent != n || st.DroppedQueue != 0 {
		t.Fatalf("received %d, stats %+v", received, st)
	}
	checkRate(t, "loss", st.DroppedLoss, n, 0.01, 0.002)
	util := float64(st.SentBytes*8) / lastAt.Sub(firstAt).Seconds() / 100e6
	if util < 0.99 || util > 1.01 {
		t.Fatalf("utilisation %.3f", util)
	}
}

func BenchmarkSimPacket(b *testing.B) {
	s := New(1)
	received := 0
	a := s.NewNode("a", nil)
	dst := s.NewNode("b", func(_ time.Time, _ Addr, p []byte) { received++ })
	s.Connect(a, dst, LinkConfig{Delay: 20 * time.Millisecond, Jitter: time.Millisecond, Rate: 1_000_000_000}, LinkConfig{})
	b.ReportAllocs()
	b.ResetTimer()
	pump(s, a, "b", b.N, 1200, 10*time.Microsecond)
	if received != b.N {
		b.Fatalf("received %d of %d", received, b.N)
	}
}

// TestSendFragmentable checks that a datagram sent with fragmentation
// allowed crosses a link whose MTU it exceeds, whole, where Send's is
// dropped as too big.
func TestSendFragmentable(t *testing.T) {
	s := New(1)
	var got []int
	a := s.NewNode("a", nil)
	b := s.NewNode("b", func(_ time.Time, _ Addr, p []byte) { got = append(got, len(p)) })
	ab, _ := s.Connect(a, b, LinkConfig{Delay: time.Millisecond, MTU: 576}, LinkConfig{})
	a.Send("b", make([]byte, 1200))
	a.SendFragmentable("b", make([]byte, 1200))
	for s.Step() {
	}
	if !slices.Equal(got, []int{1200}) || ab.Stats().DroppedMTU != 1 {
		t.Fatalf("delivered %v, %d dropped as too big; want the fragmentable 1200 bytes only, and the other dropped", got, ab.Stats().DroppedMTU)
	}
}
