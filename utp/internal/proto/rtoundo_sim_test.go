package proto

import (
	"fmt"
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

// Issue 16: a receiver that stalls longer than the senders' least RTO
// (200 ms) with their packets queued for it, as a Socket's reader on a
// loaded machine does, makes every sender time out although nothing was
// lost. Each sender may resend one packet per probe and per timeout
// (the probe's copy of its last packet, the timeout's of its oldest),
// never the rest of its window, and the ACKs after the stall undo the
// timeout: the windows are kept. With reads in batches (one ACK per
// connection for everything read, echoing the last packet read, often
// the timeout's copy) the echo cannot show the timeout spurious; the ACK
// of packets sent before the timeout does (F-RTO). Before that rule, no
// timeout of the batched runs was undone and the windows fell.
func TestStalledReceiverTimeoutUndone(t *testing.T) {
	skipIfShort(t)
	const flows, stall = 8, 300 * time.Millisecond
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			// A short path (loopback-like), packets of 16,000 bytes and a
			// receive buffer of twelve: windows held by the receiver.
			spec := pairSpec{seed: 1601, aToB: 1 << 40,
				link: netsim.LinkConfig{Delay: 50 * time.Microsecond, Rate: 8e9, QueueBytes: 4 << 20},
				cfg:  Config{PacketSize: 16000, PacketSizeOverride: true, MaxRecvDatagram: 65535, RecvBufferSize: 200000}}
			p := newPair(t, spec)
			start := p.sim.Start()
			senders := []*endpoint{p.a}
			for i := 1; i < flows; i++ {
				a, _ := newFlow(t, p.a.host, p.b.host, spec, fmt.Sprintf("-%d", i))
				senders = append(senders, a)
				a.dial()
			}
			p.sim.RunUntil(start.Add(50 * time.Millisecond))
			before := make([]Stats, flows)
			for i, a := range senders {
				before[i] = a.conn.Stats()
			}
			p.b.host.batchReads = batch
			p.b.host.pauseReads(stall)
			// The windows just after the stall: a timeout judged real
			// has collapsed them to a packet, slow start not yet regrown.
			p.sim.RunUntil(start.Add(50*time.Millisecond + stall + 2*time.Millisecond))
			just := make([]int, flows)
			for i, a := range senders {
				just[i] = a.conn.Stats().Window
			}
			p.sim.RunUntil(start.Add(50*time.Millisecond + stall + 200*time.Millisecond))
			var copies, dups uint64
			for i, a := range senders {
				b := p.b.host.conns[a.recvID+1]
				if f := a.failure + b.failure; f != "" {
					t.Fatalf("seed %d: flow %d: %s", spec.seed, i, f)
				}
				s, was := a.conn.Stats(), before[i]
				resent, probes, timeouts := s.Retransmits-was.Retransmits, s.TailProbes-was.TailProbes, s.Timeouts-was.Timeouts
				copies += resent
				dups += b.conn.Stats().Duplicates
				t.Logf("flow %d: %d resent, %d tail probes, %d timeouts (%d undone); window %d before, %d just after, %d later",
					i, resent, probes, timeouts, s.SpuriousTimeouts-was.SpuriousTimeouts, was.Window, just[i], s.Window)
				if timeouts == 0 || s.SpuriousTimeouts-was.SpuriousTimeouts != 1 {
					t.Errorf("seed %d: flow %d: %d timeouts, %d series undone; want a series, undone", spec.seed, i, timeouts, s.SpuriousTimeouts-was.SpuriousTimeouts)
				}
				if resent > probes+timeouts {
					t.Errorf("seed %d: flow %d: %d packets resent for %d probes and %d timeouts; want at most one each", spec.seed, i, resent, probes, timeouts)
				}
				if min(just[i], s.Window) < was.Window*9/10 {
					t.Errorf("seed %d: flow %d: window %d just after the stall and %d later, want at least 0.9× the %d before", spec.seed, i, just[i], s.Window, was.Window)
				}
			}
			t.Logf("seed %d: %d copies sent by %d senders, %d duplicates received", spec.seed, copies, flows, dups)
			if dups != copies {
				t.Errorf("seed %d: %d copies sent, %d received as duplicates; nothing was lost, so every copy is one", spec.seed, copies, dups)
			}
		})
	}
}
