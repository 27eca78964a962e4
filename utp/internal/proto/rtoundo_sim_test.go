package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// timeoutPath is issue 17's long path scaled to the simulator: 50 Mbit/s,
// 100 ms of RTT and a buffer of one BDP, with the default controller
// (LEDBAT++), as the real-path test runs it.
func timeoutPath(seed uint64) pairSpec {
	const rate, rtt = 50e6, 100 * time.Millisecond
	bdp := int(rate / 8 * rtt.Seconds())
	return pairSpec{
		seed: seed, aToB: 1 << 40,
		link: netsim.LinkConfig{Delay: rtt / 2, Rate: rate, QueueBytes: bdp},
		back: &netsim.LinkConfig{Delay: rtt / 2},
		cfg:  Config{SendBufferSize: 16 << 20, RecvBufferSize: 16 << 20},
	}
}

// pausedSender runs timeoutPath(1705) for 8 s, lets pause stop the
// sender for twice its RTO, and returns its Stats before and just after.
func pausedSender(t *testing.T, what string, pause func(e *endpoint, d time.Duration)) (before, after Stats) {
	t.Helper()
	spec := timeoutPath(1705)
	p := newPair(t, spec)
	start := p.sim.Start()
	p.sim.RunUntil(start.Add(8 * time.Second))
	before = p.a.conn.Stats()
	if before.Timeouts != 0 || before.InFlight < before.Window/2 {
		t.Fatalf("seed %d: before the pause: %d timeouts, %d bytes in flight of a %d-byte window; want none and a window in use",
			spec.seed, before.Timeouts, before.InFlight, before.Window)
	}
	pause(p.a, 2*before.RTO)
	p.sim.RunUntil(start.Add(8*time.Second + 2*before.RTO + time.Millisecond))
	after = p.a.conn.Stats()
	t.Logf("seed %d: window %d before %s of %v, %d after; timeouts %d (%d undone, %d put off), retransmits %d",
		spec.seed, before.Window, what, 2*before.RTO, after.Window, after.Timeouts, after.SpuriousTimeouts, after.DeferredTimeouts, after.Retransmits-before.Retransmits)
	t.Cleanup(func() {
		p.sim.RunUntil(start.Add(12 * time.Second))
		if p.a.failure != "" || p.b.failure != "" {
			t.Errorf("seed %d: %s %s", spec.seed, p.a.failure, p.b.failure)
		}
	})
	return before, after
}

// Issue 17: a sender descheduled for longer than its RTO (as on a loaded
// machine) finds its timer due and the ACKs that came meanwhile waiting
// in its socket. The timer fired late, so it is put off (starved.go)
// and the ACKs stop it: no timeout, nothing resent, the window kept.
func TestDescheduledSenderNoTimeout(t *testing.T) {
	skipIfShort(t)
	before, after := pausedSender(t, "a pause", func(e *endpoint, d time.Duration) { e.host.pause(d, e) })
	if after.DeferredTimeouts != 1 || after.Timeouts != 0 {
		t.Fatalf("%d timeouts put off, %d declared; want 1 and 0", after.DeferredTimeouts, after.Timeouts)
	}
	if n := after.Retransmits - before.Retransmits; n != 0 {
		t.Errorf("%d packets resent across the pause, want none", n)
	}
	if after.Window < before.Window*9/10 {
		t.Errorf("window %d after the pause, want at least 0.9× the %d before", after.Window, before.Window)
	}
}

// Issue 17: a sender whose timer fires on time while the ACKs that came
// wait unread for twice the RTO (its reader waited for a processor, its
// timer did not) declares the timeout, and resends the oldest packet.
// The ACKs then show it was spurious (they are for the originals), and
// the window is restored rather than slow-started from one packet.
func TestSpuriousTimeoutUndone(t *testing.T) {
	skipIfShort(t)
	before, after := pausedSender(t, "the reads' pause", func(e *endpoint, d time.Duration) { e.host.pauseReads(d) })
	if after.Timeouts == 0 {
		t.Fatal("no timeout fired while the reads paused for twice the RTO")
	}
	if after.DeferredTimeouts != 0 {
		t.Errorf("%d timeouts put off; the sender ran, its timer was on time", after.DeferredTimeouts)
	}
	if after.SpuriousTimeouts != 1 {
		t.Errorf("%d timeout series undone, want 1", after.SpuriousTimeouts)
	}
	if after.Window < before.Window*9/10 {
		t.Errorf("window %d after the spurious timeout, want at least 0.9× the %d before", after.Window, before.Window)
	}
	// Only the oldest packet was resent; the rest went back in flight.
	// (Before RACK took the echo into account, the ACK of the oldest
	// packet's original, read an RTO after its resend, was taken for the
	// resend's, and declared lost the 290 packets sent before it.)
	if n := after.Retransmits - before.Retransmits; n > after.Timeouts {
		t.Errorf("%d packets resent after %d timeouts, want at most one each", n, after.Timeouts)
	}
}

// Issue 17: after a real timeout (the path carried nothing for a while)
// the window grows back by slow start to half what it was (RFC 5681's
// ssthresh), not by a packet per RTT from the floor: within 20 round
// trips of the path's return, where linear growth would take hundreds.
func TestRealTimeoutSlowStartsBack(t *testing.T) {
	skipIfShort(t)
	spec := timeoutPath(1706)
	p := newPair(t, spec)
	start := p.sim.Start()
	p.sim.RunUntil(start.Add(8 * time.Second))
	before := p.a.conn.Stats()
	p.ab.SetMTU(1) // a blackout: the link carries nothing
	p.sim.RunUntil(start.Add(9500 * time.Millisecond))
	p.ab.SetMTU(0)
	mid := p.a.conn.Stats()
	p.sim.RunUntil(start.Add(11500 * time.Millisecond))
	after := p.a.conn.Stats()
	t.Logf("seed %d: window %d before a 1.5 s blackout, %d after it (%d timeouts, %d undone), %d 2 s later",
		spec.seed, before.Window, mid.Window, mid.Timeouts, mid.SpuriousTimeouts, after.Window)
	if mid.Timeouts == 0 || mid.Window >= before.Window/2 || after.SpuriousTimeouts != 0 {
		t.Fatalf("seed %d: the blackout left %d timeouts (%d undone) and a window of %d of %d; want a real timeout that collapsed it",
			spec.seed, mid.Timeouts, after.SpuriousTimeouts, mid.Window, before.Window)
	}
	if after.Window < before.Window*45/100 {
		t.Errorf("seed %d: window %d 2 s after the path returned, want at least 0.45× the %d before the timeout", spec.seed, after.Window, before.Window)
	}
	if p.a.failure != "" || p.b.failure != "" {
		t.Fatalf("seed %d: %s %s", spec.seed, p.a.failure, p.b.failure)
	}
}
