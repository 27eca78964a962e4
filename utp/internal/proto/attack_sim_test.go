package proto

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// Forged packets against real transfers in the simulator (issue 12): an
// off-path attacker (netsim.Attacker) that knows both addresses and
// ports sends packets forged to come from one end to the other. Every
// forged packet that a Conn admits is recorded with the odds it had; a
// run passes when both streams arrive byte-exact, nothing was reset,
// and no forged packet got through. A failure names the packets that did
// and their odds.

var (
	attackSeeds   = flag.Int("attack.seeds", 5, "seeds TestAttackSweep runs (issue 12 asks for 100)")
	attackPackets = flag.Int("attack.packets", 20000, "forged packets per TestAttackSweep run (issue 12: 100000)")
	attackSize    = flag.Int("attack.size", 2<<20, "bytes each way per TestAttackSweep run (issue 12: 16 MiB)")
	attackFirst   = flag.Int("attack.first", 1000, "first seed TestAttackSweep runs, to replay one run of a sweep alone")
)

// attackLink is a 20 ms, 10 Mbit/s path with a 50 ms queue.
var attackLink = netsim.LinkConfig{Delay: 10 * time.Millisecond, Rate: 10e6, QueueBytes: 10e6 / 8 / 20}

// attack is an attacker set up against one pair.
type attack struct {
	t        testing.TB
	p        *pair
	att      *netsim.Attacker
	admitted []string // forged packets that got through, with their odds
	expected float64  // the sum of the odds of the forged packets sent
	forged   int
	reached  int     // forged packets that reached an open Conn
	odds     float64 // the odds of the forged packet being delivered, given its id
}

// newAttack connects an attacker to both ends of p and watches what their
// Conns make of its packets.
func newAttack(t testing.TB, p *pair) *attack {
	a := &attack{t: t, p: p, att: p.sim.NewAttacker("attacker")}
	for _, h := range []*simHost{p.a.host, p.b.host} {
		p.sim.Connect(a.att.Node(), h.node, attackLink, attackLink)
		h.onForged = func(e *endpoint, hdr wire.Header, admitted bool) {
			a.reached++
			if admitted {
				a.admitted = append(a.admitted, fmt.Sprintf("%v at %v: %v id=%d seq=%d ack=%d wnd=%d (odds 2^%.1f for a packet with this id)",
					e.name, p.sim.Elapsed(), hdr.Type, hdr.ConnID, hdr.SeqNr, hdr.AckNr, hdr.WndSize, log2(a.odds)))
			}
		}
	}
	p.sim.Tap = func(_ time.Time, sender *netsim.Node, _, to netsim.Addr, b []byte) {
		for _, e := range []*endpoint{p.a, p.b} {
			e.host.forged = e.node.Addr() == to && sender == a.att.Node()
			if hdr, _, err := wire.Parse(b); e.host.forged && err == nil {
				a.odds = odds(e.conn, hdr.Type)
			}
		}
	}
	return a
}

// odds is the chance that a packet of type typ with uniformly random
// seq_nr and ack_nr is admitted by c, given the right connection id:
// the counts of accept.go's ranges over 2^32 (TestForgedPacketOdds
// checks them against the Conn). The seq_nr range is the window admit
// uses, reorderWindow, narrowed while packets are in flight; a DATA or
// FIN also counts the duplicates behind it whose advancing ack_nr is
// taken (takeDuplicateAck). Until 2026-12-07 it counted the whole
// Config.MaxReorder, which overstated the odds with a long flight.
func odds(c *Conn, typ wire.Type) float64 {
	if c == nil || c.Closed() || c.state != stateConnected {
		return 0
	}
	lo, hi := c.ackRange()
	acks := float64(uint16(hi-lo)) + 1
	window := float64(c.reorderWindow())
	switch typ {
	case wire.State:
		return acks * window / (1 << 32)
	case wire.Data, wire.Fin:
		return (acks + float64(c.snd.inUse())) * window / (1 << 32)
	case wire.Reset:
		return (65536 + acks) / (1 << 32)
	}
	return 0
}

// forgeAt sends, at each of n instants spread over [from, from+span),
// one packet drawn from f to a random end, forged to come from the other,
// and adds its odds to the expected number of successes when its id
// reaches the connection (the host, as a Socket, matches a RESET on
// either id).
func (a *attack) forgeAt(from, span time.Duration, n int, f func(victim *endpoint) netsim.Forgery) {
	step := span / time.Duration(max(n, 1))
	for i := range n {
		a.p.sim.Schedule(a.p.sim.Start().Add(from+time.Duration(i)*step), func() {
			victim, src := a.p.a, a.p.b
			if a.att.Rand().IntN(2) == 1 {
				victim, src = a.p.b, a.p.a
			}
			h := a.att.Forge(src.node.Addr(), victim.node.Addr(), f(victim))
			a.forged++
			if c := victim.conn; c != nil && (h.ConnID == c.RecvID() || h.Type == wire.Reset && h.ConnID == c.SendID()) {
				a.expected += odds(c, h.Type)
			}
		})
	}
}

// result fails the test if the run went wrong or a forged packet got
// through, naming it.
func (a *attack) result(spec pairSpec, err error) {
	a.t.Helper()
	a.t.Logf("seed %d: %d forged packets, %d reached a Conn, %.3g expected to get through by the odds, %d did",
		spec.seed, a.forged, a.reached, a.expected, len(a.admitted))
	if len(a.admitted) > 0 {
		a.t.Errorf("seed %d: forged packets got through (expected %.3g by the odds):\n%s",
			spec.seed, a.expected, strings.Join(a.admitted, "\n"))
	}
	if err != nil {
		a.t.Errorf("seed %d: %v", spec.seed, err)
	}
}

// runAttack runs spec with an attacker set up by setup.
func runAttack(t *testing.T, spec pairSpec, setup func(a *attack)) *attack {
	t.Helper()
	var a *attack
	spec.onSetup = func(p *pair) {
		a = newAttack(t, p)
		setup(a)
	}
	if spec.limit == 0 {
		spec.limit = 10 * timeBound(spec)
	}
	_, err := runSpec(t, spec)
	a.result(spec, err)
	return a
}

// Blind reset (issue 12): one RESET for every connection id, random
// seq_nr and ack_nr, toward both ends during a transfer each way. Before,
// a sweep killed the connection after 58,112 RESETs.
func TestAttackBlindResetSweep(t *testing.T) {
	spec := pairSpec{seed: 1, link: attackLink, aToB: 4 << 20, bToA: 4 << 20, checkInvar: true}
	var id uint32
	a := runAttack(t, spec, func(a *attack) {
		a.forgeAt(200*time.Millisecond, 4*time.Second, 2*65536, func(*endpoint) netsim.Forgery {
			id++
			return netsim.Forgery{Type: wire.Reset, ConnID: uint16(id / 2), RandomSeq: true, RandomAck: true}
		})
	})
	challenged := a.p.a.conn.Stats().ResetsChallenged + a.p.b.conn.Stats().ResetsChallenged
	t.Logf("%d RESETs challenged", challenged)
}

// Forged DATA, FIN and zero-window STATEs with the right connection id
// and random seq_nr and ack_nr (issue 12: 2,000 DATA made a receiver take
// forged bytes, 2,000 FINs truncated the stream, zero-window STATEs
// slowed a transfer 5.4 times). The DATA and FINs go to the receiver of a
// one-way transfer, the STATEs to its sender.
func TestAttackKnownIDPackets(t *testing.T) {
	for _, tt := range []struct {
		name   string
		typ    wire.Type
		n      int
		toRecv bool
	}{
		{"DATA", wire.Data, 2000, true},
		{"FIN", wire.Fin, 2000, true},
		{"zero-window STATE", wire.State, 1000, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := pairSpec{seed: 2, link: attackLink, aToB: 4 << 20, checkInvar: true}
			spec.limit = 10 * timeBound(spec)
			clean, err := runSpec(t, spec)
			if err != nil {
				t.Fatalf("without an attack: %v", err)
			}
			a := runAttack(t, spec, func(a *attack) {
				a.forgeAt(300*time.Millisecond, 2*time.Second, tt.n, func(*endpoint) netsim.Forgery {
					victim := a.p.b // the receiver
					if !tt.toRecv {
						victim = a.p.a
					}
					return netsim.Forgery{Type: tt.typ, ConnID: victim.conn.RecvID(), RandomSeq: true, RandomAck: true, Payload: 100}
				})
			})
			// Half the packets go to the other end (forgeAt picks), with its
			// id wrong for it: they are the blind case.
			t.Logf("transfer done at %v, %v without the attack", a.p.b.eofAt, clean.b.eofAt)
			if a.p.b.eofAt > clean.b.eofAt*11/10 {
				t.Errorf("the attack slowed the transfer from %v to %v (virtual time)", clean.b.eofAt, a.p.b.eofAt)
			}
		})
	}
}

// Reflection (issue 12): a SYN forged to come from a victim that never
// dialed, toward a server that writes 64 KiB on accept. Before, its first
// DATA went to the victim 17 times, keepalives and FINs followed. Now the
// victim receives at most 3 times what was sent in its name, and the
// connection ends silently.
func TestAttackReflection(t *testing.T) {
	for _, syns := range []int{1, 5} {
		t.Run(fmt.Sprintf("%d SYNs", syns), func(t *testing.T) {
			sim := netsim.New(3)
			var got int
			victim := sim.NewNode("victim", func(_ time.Time, _ netsim.Addr, b []byte) { got += len(b) })
			server := newSimHost(sim, "server")
			sim.Connect(victim, server.node, attackLink, attackLink)
			spec := pairSpec{seed: 3, link: attackLink, bToA: 64 << 10}
			_, srv := newFlow(t, &simHost{node: victim}, server, spec, "")
			att := sim.NewAttacker("attacker")
			sim.Connect(att.Node(), server.node, attackLink, attackLink)
			for i := range syns {
				sim.Schedule(sim.Start().Add(time.Duration(i)*time.Second), func() {
					att.Forge("victim", "server", netsim.Forgery{Type: wire.Syn, ConnID: 777, SeqNr: 4242})
				})
			}
			sim.RunFor(2 * time.Minute)
			t.Logf("%d bytes forged in the victim's name, %d reflected to it", att.Bytes, got)
			if got == 0 || int64(got) > amplificationFactor*att.Bytes {
				t.Errorf("the victim received %d bytes for %d forged, want 1 to %d", got, att.Bytes, amplificationFactor*att.Bytes)
			}
			if srv.conn == nil || !srv.closed || srv.closeErr != ErrTimedOut || srv.conn.Confirmed() {
				t.Errorf("the server's connection: closed %v (%v), confirmed %v; want closed unproven", srv.closed, srv.closeErr, srv.conn != nil && srv.conn.Confirmed())
			}
		})
	}
}

// TestAttackSweep: transfers each way under a blind attacker sending
// forged packets of every type with every field random, the connection
// id included. Every run must be byte-exact and unreset. The issue's
// full sweep is 100 seeds of 100,000 packets during 16 MiB each way:
//
//	go test ./utp/internal/proto -run TestAttackSweep -attack.seeds=100 -attack.packets=100000 -attack.size=16777216
//
// and -attack.first=1037 -attack.seeds=1 replays its run with seed 1037
// alone.
func TestAttackSweep(t *testing.T) {
	var total, expected float64
	for seed := range *attackSeeds {
		size := uint64(*attackSize)
		spec := pairSpec{seed: uint64(*attackFirst + seed), link: attackLink, aToB: size, bToA: size}
		// Spread the packets over the time the transfer takes unattacked
		// (each direction has its own link).
		span := time.Duration(float64(size) * 8 / float64(attackLink.Rate) * float64(time.Second))
		a := runAttack(t, spec, func(a *attack) {
			a.forgeAt(100*time.Millisecond, span, *attackPackets, func(*endpoint) netsim.Forgery {
				return netsim.Forgery{Types: []wire.Type{wire.Data, wire.Fin, wire.State, wire.Reset, wire.Syn},
					RandomID: true, RandomSeq: true, RandomAck: true, RandomWnd: true, Payload: 64}
			})
		})
		total += float64(a.forged)
		expected += a.expected
	}
	t.Logf("%d runs, %.0f forged packets, %.3g expected to get through by the odds", *attackSeeds, total, expected)
}

// An on-path attacker (Sim.Tap sees every datagram) is outside what the
// acceptance rules can stop, as for TCP (docs/security.md): copying the
// receiver's latest STATE into a RESET forged to come from it ends the
// sender's connection at once.
func TestAttackOnPathResets(t *testing.T) {
	spec := pairSpec{seed: 4, link: attackLink, aToB: 4 << 20}
	p := newPair(t, spec)
	att := p.sim.NewAttacker("observer")
	p.sim.Connect(att.Node(), p.a.host.node, attackLink, attackLink)
	var last []byte // the acceptor's latest STATE to the dialer
	p.sim.Tap = func(_ time.Time, sender *netsim.Node, _, to netsim.Addr, b []byte) {
		if h, _, err := wire.Parse(b); err == nil && h.Type == wire.State && to == p.a.node.Addr() && sender == p.b.node {
			last = append(last[:0], b...)
		}
	}
	p.sim.Schedule(p.sim.Start().Add(time.Second), func() {
		if last == nil {
			t.Error("the observer saw no STATE")
			return
		}
		h, _, _ := wire.Parse(last)
		h.Type, h.SACK = wire.Reset, nil
		att.SendForged(p.b.node.Addr(), p.a.node.Addr(), h.Append(nil))
	})
	p.run(time.Minute)
	if !errors.Is(p.a.closeErr, ErrConnReset) {
		t.Fatalf("the sender ended with %v, want ErrConnReset from the on-path RESET", p.a.closeErr)
	}
	t.Logf("the dialer was reset at %v", p.sim.Elapsed())
}
