package netsim

import (
	"math"
	"testing"
	"time"
)

// t0 is an arbitrary, non-epoch start time: Link must work on any clock.
var t0 = time.Unix(1_700_000_000, 123)

func TestLinkZeroConfigIsPerfect(t *testing.T) {
	l := NewLink(LinkConfig{}, nil)
	for i := range 100 {
		now := t0.Add(time.Duration(i) * time.Microsecond)
		got := l.Transmit(now, 1<<20, nil)
		if len(got) != 1 || !got[0].Equal(now) {
			t.Fatalf("packet %d: arrivals %v, want [%v]", i, got, now)
		}
	}
	if st := l.Stats(); st.Delivered != 100 || st.Dropped() != 0 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLinkDelayAndSerialization(t *testing.T) {
	l := NewLink(LinkConfig{Delay: 10 * time.Millisecond, Rate: 8_000_000}, nil) // 1 byte/µs
	got := l.Transmit(t0, 1000, nil)
	if want := t0.Add(time.Millisecond + 10*time.Millisecond); len(got) != 1 || !got[0].Equal(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	// A second packet right behind it waits for the first to serialize.
	if d := l.QueueDelay(t0); d != time.Millisecond {
		t.Fatalf("QueueDelay %v, want 1ms", d)
	}
	if b := l.QueueOccupancy(t0.Add(400 * time.Microsecond)); b != 600 {
		t.Fatalf("QueueOccupancy %d, want 600", b)
	}
	got = l.Transmit(t0, 500, got[:0])
	if want := t0.Add(1500*time.Microsecond + 10*time.Millisecond); !got[0].Equal(want) {
		t.Fatalf("got %v want %v", got[0], want)
	}
}

// The sub-nanosecond remainder is carried, so the long-run rate is exact.
func TestLinkRateExact(t *testing.T) {
	l := NewLink(LinkConfig{Rate: 7, QueueBytes: -1}, nil)
	for range 7 {
		l.Transmit(t0, 1, nil)
	}
	if d := l.QueueDelay(t0); d != 8*time.Second {
		t.Fatalf("7 bytes at 7 bit/s: backlog %v, want 8s exactly", d)
	}
}

func TestLinkMTU(t *testing.T) {
	l := NewLink(LinkConfig{MTU: 1200}, nil)
	var fates []Fate
	l.OnTransmit = func(_ time.Time, _ int, _ time.Duration, f Fate) { fates = append(fates, f) }
	if got := l.Transmit(t0, 1200, nil); len(got) != 1 {
		t.Fatalf("1200 bytes at MTU 1200 dropped")
	}
	if got := l.Transmit(t0, 1201, nil); len(got) != 0 {
		t.Fatalf("1201 bytes at MTU 1200 delivered")
	}
	st := l.Stats()
	if st.DroppedMTU != 1 || st.Delivered != 1 || st.Sent != 2 {
		t.Fatalf("stats %+v", st)
	}
	if len(fates) != 2 || fates[0] != FateDelivered || fates[1] != FateTooBig {
		t.Fatalf("fates %v", fates)
	}
}

// checkRate fails unless got/n is within tol of p.
func checkRate(t *testing.T, what string, got, n int64, p, tol float64) {
	t.Helper()
	r := float64(got) / float64(n)
	if math.Abs(r-p) > tol {
		t.Errorf("%s rate %.4f over %d packets, want %.3f±%.3f", what, r, n, p, tol)
	} else {
		t.Logf("%s rate %.4f over %d packets", what, r, n)
	}
}

func TestLinkRandomRates(t *testing.T) {
	const n = 100_000
	cfg := LinkConfig{Delay: 30 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.05, Duplicate: 0.05, Reorder: 0.05}
	l := NewLink(cfg, DerivedRand(42, 1))
	var arr []time.Time
	for i := range n {
		now := t0.Add(time.Duration(i) * 100 * time.Microsecond)
		arr = l.Transmit(now, 100, arr[:0])
		if len(arr) == 2 && arr[1].Sub(arr[0]) != DefaultDuplicateDelay {
			t.Fatalf("duplicate gap %v", arr[1].Sub(arr[0]))
		}
	}
	st := l.Stats()
	checkRate(t, "loss", st.DroppedLoss, n, 0.05, 0.005)
	delivered := n - st.DroppedLoss
	checkRate(t, "duplicate", st.Duplicated, delivered, 0.05, 0.005)
	checkRate(t, "reorder", st.Reordered, delivered, 0.05, 0.005)
	if st.Delivered != st.Sent-st.Dropped()+st.Duplicated || st.DeliveredBytes != 100*st.Delivered {
		t.Fatalf("inconsistent stats %+v", st)
	}
	if got := l.Config().ReorderDelay; got != 33*time.Millisecond {
		t.Fatalf("default ReorderDelay %v, want Delay+Jitter+1ms", got)
	}
}

// inversions counts arrivals earlier than some earlier-sent packet's.
func inversions(arr []time.Time) (inv int) {
	var latest time.Time
	for _, a := range arr {
		if a.Before(latest) {
			inv++
		}
		latest = maxTime(latest, a)
	}
	return inv
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func TestLinkJitterKeepsFIFO(t *testing.T) {
	l := NewLink(LinkConfig{Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}, DerivedRand(1, 1))
	var arr []time.Time
	var spread time.Duration
	for i := range 20_000 {
		now := t0.Add(time.Duration(i) * 100 * time.Microsecond)
		arr = l.Transmit(now, 100, arr)
		spread = max(spread, arr[len(arr)-1].Sub(now))
	}
	if inv := inversions(arr); inv != 0 {
		t.Fatalf("jitter without Reorder reordered %d packets", inv)
	}
	if spread < 29*time.Millisecond {
		t.Fatalf("max one-way delay %v: jitter not applied", spread)
	}
}

func TestLinkReorderReorders(t *testing.T) {
	l := NewLink(LinkConfig{Delay: 20 * time.Millisecond, Reorder: 0.02}, DerivedRand(1, 1))
	var arr []time.Time
	for i := range 10_000 {
		arr = l.Transmit(t0.Add(time.Duration(i)*time.Millisecond), 100, arr)
	}
	st := l.Stats()
	// Each held-back packet (21ms late) is overtaken by the ~21 sent after
	// it (fewer when held-back packets are close together).
	if inv := inversions(arr); st.Reordered == 0 || inv < int(st.Reordered)*10 {
		t.Fatalf("Reordered=%d but only %d inversions", st.Reordered, inv)
	}
}

// Loss is applied after the bottleneck: a lost packet still used capacity.
func TestLinkLossAfterQueue(t *testing.T) {
	l := NewLink(LinkConfig{Rate: 8_000_000, Loss: 1}, nil)
	if got := l.Transmit(t0, 1000, nil); len(got) != 0 {
		t.Fatal("delivered with Loss=1")
	}
	if d := l.QueueDelay(t0); d != time.Millisecond {
		t.Fatalf("lost packet left backlog %v, want 1ms", d)
	}
}

func TestLinkBottleneck(t *testing.T) {
	const (
		rate   = 1_000_000 // bit/s
		qbytes = 16_000
		size   = 1000
		every  = 4 * time.Millisecond // 2 Mbit/s offered: twice the rate
		dur    = 20 * time.Second
	)
	cfg := LinkConfig{Delay: 25 * time.Millisecond, Rate: rate, QueueBytes: qbytes}
	l := NewLink(cfg, nil)
	txTime := time.Duration(size * 8 * int64(time.Second) / rate)
	bound := time.Duration(qbytes*8*int64(time.Second)/rate) + txTime
	firstDrop := -1
	var maxHook time.Duration
	l.OnTransmit = func(now time.Time, n int, qd time.Duration, f Fate) {
		maxHook = max(maxHook, qd)
	}
	var first, last time.Time
	var arr []time.Time
	var i int
	for now := t0; now.Before(t0.Add(dur)); now = now.Add(every) {
		if occ := l.QueueOccupancy(now); occ > qbytes {
			t.Fatalf("occupancy %d > %d", occ, qbytes)
		}
		arr = l.Transmit(now, size, arr[:0])
		if len(arr) == 0 && firstDrop < 0 {
			firstDrop = i
		}
		if len(arr) > 0 {
			if d := arr[0].Sub(now) - cfg.Delay; d > bound {
				t.Fatalf("packet %d delayed %v in bottleneck, bound %v", i, d, bound)
			}
			if first.IsZero() {
				first = arr[0]
			}
			last = arr[0]
		}
		i++
	}
	st := l.Stats()
	t.Logf("stats %+v, first drop at packet %d", st, firstDrop)
	// Net fill rate is 1 Mbit/s = 125 B/ms, so the 16 kB queue fills after
	// ~128ms, i.e. about 32 packets.
	if firstDrop < 28 || firstDrop > 36 {
		t.Errorf("first drop at packet %d, want ~32", firstDrop)
	}
	checkRate(t, "queue drop", st.DroppedQueue, st.Sent, 0.5, 0.01)
	if st.MaxQueueDelay > bound || maxHook != st.MaxQueueDelay {
		t.Errorf("MaxQueueDelay %v (hook %v), bound %v", st.MaxQueueDelay, maxHook, bound)
	}
	if st.MaxQueueDelay < bound-2*txTime {
		t.Errorf("MaxQueueDelay %v: queue never filled", st.MaxQueueDelay)
	}
	if st.MaxQueueBytes > qbytes {
		t.Errorf("MaxQueueBytes %d > %d", st.MaxQueueBytes, qbytes)
	}
	// Deliveries are back to back at the bottleneck rate.
	got := float64((st.Delivered-1)*size*8) / last.Sub(first).Seconds()
	if math.Abs(got-rate)/rate > 0.01 {
		t.Errorf("delivery rate %.0f bit/s, want %d", got, rate)
	}
}

func TestLinkDefaults(t *testing.T) {
	c := NewLink(LinkConfig{Rate: 1, Duplicate: 0.1, Reorder: 0.1, Delay: time.Second}, nil).Config()
	if c.QueueBytes != DefaultQueueBytes || c.DuplicateDelay != DefaultDuplicateDelay || c.ReorderDelay != time.Second+time.Millisecond {
		t.Fatalf("defaults %+v", c)
	}
	if c := NewLink(LinkConfig{}, nil).Config(); c != (LinkConfig{}) {
		t.Fatalf("zero config changed: %+v", c)
	}
}
