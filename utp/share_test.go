package utp

import (
	"testing"
	"time"
)

// truesize follows what Linux 6.18 charged on loopback for ten datagrams
// of each size into an unread socket (rx_queue in /proc/net/udp).
func TestTruesize(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{20, 832}, {100, 832}, {500, 1280}, {1000, 2304}, {1200, 2304},
		{1452, 2304}, {1472, 2304}, {2000, 4352}, {4000, 8448},
		{8000, 16640}, {9000, 16640}, {16000, 16640}, {32000, 32832},
		{65000, 65832},
	} {
		if got := truesize(c.n); got != c.want {
			t.Errorf("truesize(%d) = %d, measured %d", c.n, got, c.want)
		}
	}
}

// uniform is the charge of packets all of payload bytes.
func uniform(payload int) chargeSample {
	return chargeSample{largest: payload, bytes: payload, charged: truesize(payload + 20)}
}

// A share's window, charged at the packets' rate, and its reserve of full
// packets fit the share, and a window one packet larger would not, down
// to the floor; a mix of packet sizes is charged at its own rate.
func TestShareWindowFits(t *testing.T) {
	for _, payload := range []int{1200, 1452, 8952, 64980} {
		ch := uniform(payload)
		for _, share := range []int{1 << 10, 50 << 10, 131072, 262144, 1 << 20, 14 << 20} {
			w := shareWindow(share, ch)
			if w == minShare {
				continue
			}
			cost := func(win, reserve int) int { return win*ch.charged/payload + reserve*ch.charged }
			if two := 2 * (payload + 20); w <= two {
				// Two packets before the second packet of reserve.
				if c := cost(w, 1); c > share || (w < two && cost(w+payload, 1) <= share) {
					t.Errorf("payload %d, share %d: window %d of at most two packets costs %d with one in reserve", payload, share, w, c)
				}
				continue
			}
			if c := cost(w, shareReserve); c > share {
				t.Errorf("payload %d, share %d: window %d costs %d", payload, share, w, c)
			}
			if c := cost(w+payload, shareReserve); c <= share {
				t.Errorf("payload %d, share %d: window %d is not the largest (%d costs %d)", payload, share, w, w+payload, c)
			}
		}
	}
	// Half the bytes in 8,952-byte packets (1.86 times their size), half
	// in 64,980 (1.01): the window is charged about 1.3 times its size.
	mix := chargeSample{largest: 64980, bytes: 2 * 64980, charged: 64980/8952*truesize(8972) + truesize(65000)}
	if w, want := shareWindow(1<<20, mix), (1<<20-2*truesize(65000))*mix.bytes/mix.charged; w != want {
		t.Errorf("mixed sizes: window %d, want %d", w, want)
	}
}

// shareRun feeds the share n packets of size bytes for each connection,
// one round at a time, step apart.
func shareRun(w *windowShare, conns []*Conn, at time.Time, rounds, size int, step time.Duration) time.Time {
	for range rounds {
		for _, c := range conns {
			w.noteData(c, at, size)
		}
		at = at.Add(step)
	}
	return at
}

// A connection counts as receiving once it has received shareActive bytes
// in a run of data, and the window is the budget's share for the count;
// without a budget there is no limit; one packet, however large, does not
// count alone; a connection not yet counted is offered the share it would
// have if it were.
func TestWindowShareCounts(t *testing.T) {
	if w := newWindowShare(0); w.window(&Conn{}) != 0 {
		t.Fatalf("no budget: window %d, want 0 (no limit)", w.window(&Conn{}))
	}
	const rcvbuf = 16 << 20 // as Linux reports an 8 MiB request
	w := newWindowShare(rcvbuf)
	avail := rcvbuf - rcvbuf/8
	const payload = 64980
	one := &Conn{}
	if got, want := w.limit.Load(), shareWindow(avail, chargeSample{largest: maxDatagram - 20, bytes: 1452, charged: truesize(1472)}); got != int64(want) {
		t.Fatalf("before any data: %d, want the whole budget less the reserve (%d)", got, want)
	}
	if got := w.window(one); got != shareFresh {
		t.Fatalf("a new connection before any data: %d, want shareFresh", got)
	}
	start := time.Unix(1000, 0)
	w.noteData(one, start, payload)
	if one.shareCounted.Load() {
		t.Fatalf("one packet of %d bytes counted alone", payload)
	}
	conns := make([]*Conn, 64)
	for i := range conns {
		conns[i] = &Conn{}
	}
	shareRun(w, conns, start, 2, payload, sharePeriod)
	if n, want := len(w.counted), 64; n != want {
		t.Fatalf("64 connections received two packets each: %d counted", n)
	}
	want := shareWindow(avail/64, uniform(payload))
	if got := w.window(conns[0]); got != want || got < payload {
		t.Fatalf("64 counted: window %d, want %d (at least one packet of %d)", got, want, payload)
	}
	if got, want := w.window(one), min(shareWindow(avail/65, uniform(payload)), shareFresh); got != want {
		t.Fatalf("a connection not counted is offered %d, want the share of 65 within shareFresh (%d)", got, want)
	}
	// 16 MiB holds 64 windows of two packets with one more each in
	// reserve, not two.
	if ch, got := uniform(payload), w.window(conns[0]); got != 2*(payload+20) || 64*(got*ch.charged/payload+ch.charged) > avail {
		t.Fatalf("64 windows of %d and one packet in reserve each: want two packets, within the %d available", got, avail)
	}

	many := newWindowShare(1 << 20)
	for range 10000 {
		many.noteData(&Conn{}, start, shareActive)
	}
	if got := many.window(&Conn{}); got != minShare {
		t.Fatalf("10,000 receiving: %d, want the floor %d", got, minShare)
	}
}

// The count goes by presence, not by rate: a reader slowed by load takes
// less than one packet a period from each connection, and the count stays
// at N; a connection leaves it once shareKeep periods pass without data,
// at once when its peer's FIN arrives, and for good when it ends.
func TestWindowShareSlowReader(t *testing.T) {
	const payload = 64980
	w := newWindowShare(16 << 20)
	conns := make([]*Conn, 64)
	for i := range conns {
		conns[i] = &Conn{}
	}
	start := time.Unix(1000, 0)
	at := shareRun(w, conns, start, 2, payload, time.Millisecond)
	at = shareRun(w, conns, at.Add(sharePeriod), 1, payload, 0) // a period that sizes the packets
	counted := w.window(conns[0])
	if want := shareWindow(w.avail/64, uniform(payload)); counted != want {
		t.Fatalf("64 counted: window %d, want %d", counted, want)
	}
	// One packet per connection every 12 periods, for eight seconds,
	// the reader missing whole periods in between.
	for range 13 {
		for i, c := range conns {
			w.noteData(c, at.Add(time.Duration(i)*12*sharePeriod/64), payload)
			if n := len(w.counted); n != 64 {
				t.Fatalf("a packet per connection every 12 periods: %d counted, want 64", n)
			}
			if got := w.window(c); got != counted {
				t.Fatalf("a packet per connection every 12 periods: window %d, want %d", got, counted)
			}
		}
		at = at.Add(12 * sharePeriod)
	}
	at = shareRun(w, conns, at, 1, payload, 0) // all in the same period

	w.finished(conns[0])
	if n := len(w.counted); n != 63 {
		t.Fatalf("after a FIN: %d counted, want 63", n)
	}
	w.ended(conns[1])
	w.ended(conns[1]) // twice is harmless
	if n := len(w.counted); n != 62 {
		t.Fatalf("after one ended: %d counted, want 62", n)
	}
	at = shareRun(w, conns[1:2], at, 4, payload, time.Millisecond)
	if conns[1].shareCounted.Load() || len(w.counted) != 62 {
		t.Fatalf("an ended connection counted again (%d counted)", len(w.counted))
	}
	// The reader misses 40 periods (a machine that does not run it): the
	// silence is measured in the Socket's data, so nobody leaves.
	at = shareRun(w, conns[2:], at.Add(40*sharePeriod), 1, payload, 0)
	if n := len(w.counted); n != 62 {
		t.Fatalf("after the reader missed 40 periods: %d counted, want 62", n)
	}
	// Only conns[2] goes on receiving, 64 packets a period: the others
	// leave once shareKeep periods with data and shareKeep packets per
	// counted connection have passed without theirs, and not before.
	for range shareKeep {
		at = shareRun(w, conns[2:3], at.Add(sharePeriod), 64, payload, 0)
	}
	if n := len(w.counted); n != 62 {
		t.Fatalf("%d periods and %d packets without data: %d counted, want 62", shareKeep, shareKeep*64, n)
	}
	for range 2 {
		at = shareRun(w, conns[2:3], at.Add(sharePeriod), 64, payload, 0)
	}
	if n := len(w.counted); n != 1 || !conns[2].shareCounted.Load() {
		t.Fatalf("after %d periods without data: %d counted, want only the one receiving", shareKeep+2, n)
	}
	if got, want := w.window(conns[2]), shareWindow(w.avail, uniform(payload)); got != want {
		t.Fatalf("one receiving: window %d, want %d", got, want)
	}
	// A connection that went quiet needs a new run of shareActive bytes.
	w.noteData(conns[3], at, payload)
	if conns[3].shareCounted.Load() {
		t.Fatal("one packet after a silence counted")
	}
	w.noteData(conns[3], at, payload)
	if !conns[3].shareCounted.Load() {
		t.Fatal("a new run of two packets did not count")
	}
	for i, c := range w.counted {
		if c.shareIdx != i+1 {
			t.Fatalf("counted[%d] has index %d", i, c.shareIdx)
		}
	}
}

// raiserFunc is a packetio.RecvBufferRaiser made of a function.
type raiserFunc func(n int) int

func (f raiserFunc) RaiseRecvBuffer(n int) int { return f(n) }

// Once the count needs more than the kernel buffer (shareGrowPer each),
// the Socket asks, once, for shareGrowth times its buffer: room for what
// the windows do not bound, which stay as they were; and the long path's
// raises (bufferGrowth) end. A kernel that would not raise it is not
// asked again.
func TestWindowShareGrows(t *testing.T) {
	const payload = 64980
	for _, granting := range []bool{true, false} {
		w := newWindowShare(16 << 20)
		var asked []int
		w.growWith(raiserFunc(func(n int) int {
			asked = append(asked, n)
			if !granting {
				return 16 << 20 // capped: nothing more
			}
			return 2 * n
		}), 64<<20, 16<<20)
		conns := make([]*Conn, 64)
		for i := range conns {
			conns[i] = &Conn{}
		}
		at := time.Unix(1000, 0)
		fits := w.avail / shareGrowPer // connections the buffer holds at shareGrowPer
		at = shareRun(w, conns[:fits], at, 2, payload, time.Millisecond)
		if len(asked) != 0 {
			t.Fatalf("%d counted in %d bytes: asked to grow to %v", fits, w.avail, asked)
		}
		window, avail := w.limit.Load(), w.avail
		at = shareRun(w, conns[fits:fits+1], at, 2, payload, time.Millisecond)
		if len(asked) != 1 || asked[0] != shareGrowth*(16<<20)/2 {
			t.Fatalf("granting %v: asked %v, want once for %d (the kernel doubles it)", granting, asked, shareGrowth*(16<<20)/2)
		}
		if w.avail != avail || w.limit.Load() > window {
			t.Fatalf("granting %v: %d shared, window %d after growing; want %d and at most %d, as before", granting, w.avail, w.limit.Load(), avail, window)
		}
		if w.grow.open.Load() {
			t.Fatalf("granting %v: the long path's raises still open", granting)
		}
		shareRun(w, conns[fits+1:], at, 2, payload, time.Millisecond)
		if len(w.counted) != 64 || len(asked) != 1 {
			t.Fatalf("%d counted, asked %v; want 64, and no more asks", len(w.counted), asked)
		}
	}
}

// Counting and sweeping allocate nothing once the list has grown.
func TestWindowShareNoAlloc(t *testing.T) {
	w := newWindowShare(16 << 20)
	conns := make([]*Conn, 64)
	for i := range conns {
		conns[i] = &Conn{}
	}
	at := time.Unix(1000, 0)
	at = shareRun(w, conns, at, 2, 64980, time.Millisecond)
	allocs := testing.AllocsPerRun(100, func() {
		at = shareRun(w, conns, at, 1, 64980, sharePeriod)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round of 64 packets", allocs)
	}
}

// forget uncounts an ending connection from its own goroutine while the
// lead's holder counts and sweeps: the race detector checks the locking,
// and every connection ends uncounted.
func TestWindowShareEndedConcurrently(t *testing.T) {
	w := newWindowShare(16 << 20)
	conns := make([]*Conn, 256)
	for i := range conns {
		conns[i] = &Conn{}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, c := range conns {
			w.ended(c)
		}
	}()
	at := time.Unix(1000, 0)
	for range 20 {
		at = shareRun(w, conns, at, 1, 64980, sharePeriod)
	}
	<-done
	if n := len(w.counted); n != 0 {
		t.Fatalf("%d counted after every connection ended", n)
	}
	if got, want := w.window(conns[0]), int(w.next.Load()); got != want {
		t.Fatalf("an ended connection is offered %d, want a new one's %d", got, want)
	}
}
