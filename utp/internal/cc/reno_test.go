package cc

import (
	"testing"
	"time"
)

// renoRound acknowledges one window in ACKs of two MSS each (a delayed-ACK
// receiver keeping the window full) and returns the window at its start.
func renoRound(r *Reno, now time.Time) int {
	start := r.Window()
	for left := start; left > 0; left -= 2 * mss {
		r.OnAck(Ack{Now: now, AckedBytes: min(2*mss, left), FlightBefore: r.Window()})
	}
	return start
}

// renoFlight tells r, by a duplicate ACK, that flight bytes are in flight.
func renoFlight(r *Reno, now time.Time, flight int) {
	r.OnAck(Ack{Now: now, FlightBefore: flight})
}

func TestRenoDefaults(t *testing.T) {
	r := NewReno(RenoConfig{MSS: mss})
	if got := r.Window(); got != DefaultRenoInitialWindow*mss {
		t.Fatalf("initial window %d, want %d", got, DefaultRenoInitialWindow*mss)
	}
	if !r.InSlowStart() {
		t.Fatal("not in slow start at first")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewReno without MSS did not panic")
		}
	}()
	NewReno(RenoConfig{})
}

// RFC 5681 3.1: slow start doubles the window per RTT, each ACK adding at
// most 2 MSS (RFC 3465, L = 2).
func TestRenoSlowStartDoublesPerRTT(t *testing.T) {
	r := NewReno(RenoConfig{MSS: mss, InitialWindow: 2})
	for _, want := range []int{4, 8, 16, 32} {
		renoRound(r, t0)
		if got := r.Window(); got != want*mss {
			t.Fatalf("window %d, want %d", got, want*mss)
		}
	}
	r.OnAck(Ack{Now: t0, AckedBytes: 100 * mss})
	if got := r.Window(); got != 34*mss {
		t.Fatalf("an ACK of 100 MSS grew the window to %d, want %d (2 MSS at most)", got, 34*mss)
	}
}

// RFC 5681 3.2 and RFC 6675 5: a loss halves the window and ends slow
// start; the window holds until the flight at the loss is acknowledged,
// then grows by about one MSS per RTT (congestion avoidance). Delay is
// ignored.
func TestRenoCongestionAvoidance(t *testing.T) {
	r := NewReno(RenoConfig{MSS: mss, InitialWindow: 40})
	renoFlight(r, t0, 40*mss)
	r.OnLoss(t0, 100*time.Millisecond)
	if got := r.Window(); got != 20*mss || r.InSlowStart() {
		t.Fatalf("after a loss: window %d, slow start %v; want %d, false", got, r.InSlowStart(), 20*mss)
	}
	renoRound(r, t0)
	renoRound(r, t0)
	if got := r.Window(); got != 20*mss {
		t.Fatalf("window %d while the flight at the loss was acknowledged, want %d", got, 20*mss)
	}
	for range 10 {
		before := renoRound(r, t0)
		if d := r.Window() - before; d < mss*9/10 || d > mss*11/10 {
			t.Fatalf("window grew by %d in one RTT, want about one MSS (%d)", d, mss)
		}
	}
	w := r.Window()
	r.OnAck(Ack{Now: t0, Delay: 4_000_000_000, HasDelay: true})
	r.OnPeerDelay(t0, 123456)
	if r.Window() != w || r.QueuingDelay() != 0 {
		t.Fatalf("delay changed the window (%d -> %d) or gave a queuing delay %v", w, r.Window(), r.QueuingDelay())
	}
}

// RFC 6582: the window is halved once per loss episode, which lasts until
// the flight at the decrease has been acknowledged and at least an RTT;
// ssthresh never falls below 2 MSS (RFC 5681 equation 4).
func TestRenoLossHalvesOncePerEpisode(t *testing.T) {
	r := NewReno(RenoConfig{MSS: mss, InitialWindow: 64})
	now := t0
	loss := func(at time.Duration, rtt time.Duration, want int) {
		t.Helper()
		now = t0.Add(at)
		r.OnLoss(now, rtt)
		if got := r.Window(); got != want*mss {
			t.Errorf("loss at %v: window %d, want %d", at, got, want*mss)
		}
	}
	renoFlight(r, now, 64*mss)
	loss(0, 200*ms, 32)
	loss(time.Second, 200*ms, 32) // the 64 MSS in flight are not acknowledged yet
	r.OnAck(Ack{Now: now, AckedBytes: 63 * mss, FlightBefore: 64 * mss})
	loss(2*time.Second, 200*ms, 32)
	r.OnAck(Ack{Now: now, AckedBytes: mss, FlightBefore: mss}) // episode over
	loss(3*time.Second, 200*ms, 16)
	r.OnAck(Ack{Now: now, AckedBytes: mss, FlightBefore: 0}) // a flight of at most 1 MSS
	loss(3*time.Second+199*ms, 200*ms, 16)                   // within the RTT of the decrease
	loss(3*time.Second+200*ms, 200*ms, 8)
	r.OnAck(Ack{Now: now, AckedBytes: mss})
	loss(3*time.Second+299*ms, 0, 8) // rtt unknown: 100 ms
	loss(3*time.Second+300*ms, 0, 4)
	for i := range 3 {
		r.OnAck(Ack{Now: now, AckedBytes: mss})
		loss(time.Duration(4+i)*time.Second, 0, 2) // ssthresh floor: 2 MSS
	}
}

// RFC 5681 3.1: a timeout sets ssthresh to half the window and the window
// to one MSS; slow start then climbs back to ssthresh at once. A second
// timeout before any data is acknowledged does not lower ssthresh again,
// nor does a loss of a packet sent before the timeout (RFC 6582).
func TestRenoTimeout(t *testing.T) {
	r := NewReno(RenoConfig{MSS: mss, InitialWindow: 32})
	renoFlight(r, t0, 32*mss)
	r.OnLoss(t0, time.Second) // 16 MSS
	renoFlight(r, t0, 16*mss)
	r.OnTimeout(t0.Add(time.Second))
	renoFlight(r, t0, 0) // a duplicate ACK acknowledges no data
	r.OnTimeout(t0.Add(2 * time.Second))
	if got := r.Window(); got != mss || !r.InSlowStart() {
		t.Fatalf("after timeouts: window %d, slow start %v; want %d, true", got, r.InSlowStart(), mss)
	}
	for _, want := range []int{2, 4} {
		renoRound(r, t0)
		if got := r.Window(); got != want*mss {
			t.Fatalf("slow start after a timeout: window %d, want %d", got, want*mss)
		}
	}
	r.OnLoss(t0.Add(3*time.Second), 0) // of a packet sent before the timeout
	renoRound(r, t0)
	if got := r.Window(); got != 8*mss || r.InSlowStart() {
		t.Fatalf("window %d, slow start %v; want ssthresh %d (half of 16 MSS), false", got, r.InSlowStart(), 8*mss)
	}
	renoRound(r, t0)
	if got := r.Window(); got < 8*mss+mss*9/10 || got > 9*mss {
		t.Fatalf("window %d one RTT past ssthresh, want about %d (one MSS more)", got, 9*mss)
	}
}
