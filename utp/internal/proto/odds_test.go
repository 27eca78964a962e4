package proto

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// The odds of a forged packet, counted exactly over the 16-bit spaces
// (docs/security.md). For each connection state a real Conn is built,
// then every ack_nr and every seq_nr is tried against a copy of it
// through HandleParsed, and the outcome is read from what the Conn did.
// The targets are issue 12's: a blind attacker (connection id unknown,
// one chance in 65,536 of hitting it) needs on average at least 2^24
// forged packets per successful reset, truncation or corruption in every
// state, and one who knows the id at least 2^15 per reset.

// forgeOutcome is what one forged packet did to a Conn.
type forgeOutcome uint8

const (
	forgeIgnored    forgeOutcome = iota // nothing changed
	forgeDuplicate                      // taken for a duplicate: re-ACKed, nothing else
	forgeChallenged                     // a RESET answered with a challenge
	forgeReset                          // the connection ended
	forgeAdmitted                       // processed: it may have changed state
)

// oddsState is one connection state under attack.
type oddsState struct {
	name string
	tc   *testConn
	work *Conn     // a copy of tc.conn that forged packets are tried on
	fp   connPrint // its fingerprint
	// outBuf is reused for the copies' packet tables.
	outBuf []outPacket
}

// cloneConn copies a Conn deeply enough that handling one packet in the
// copy leaves the original unchanged: the packet table, the reorder
// slots and the RTT estimator are copied; the byte rings are shared,
// because a forged packet only appends past their end or moves their
// base, and the original's bytes are never read here.
//
// out, if long enough, receives the copy of the packet table: the copies
// are made for thousands of packets and must not churn the heap.
func cloneConn(c *Conn, out []outPacket) *Conn {
	d := *c
	if len(out) < len(c.snd.out) {
		out = make([]outPacket, len(c.snd.out))
	}
	d.snd.out = out[:len(c.snd.out)]
	copy(d.snd.out, c.snd.out)
	if c.rcv.reorder != nil {
		d.rcv.reorder = append([]reorderSlot(nil), c.rcv.reorder...)
	}
	rtt := *c.rtt
	d.rtt = &rtt
	d.rcv.sackBuf = nil
	return &d
}

// connPrint is the state a forged packet must not move when it is
// ignored.
type connPrint struct {
	state                  connState
	una, seqNr, ackNr      uint16
	flight, peerWnd, lostN int
	reorderN               int
	gotFin, eof            bool
	lastRecv               int64
	timers                 timerTable
	// What a forged ACK's SACK or echo could move in loss recovery: the
	// duplicate ACKs counted, the SACK horizon (its grace), the
	// reordering window and the first sends a duplicate's echo may prove.
	dupAcks, reoMult, unproven int
	horizon                    uint16
	hasHorizon, undoable       bool
}

func fingerprint(c *Conn) connPrint {
	return connPrint{c.state, c.snd.una, c.snd.seqNr, c.rcv.ackNr, c.snd.flight, c.snd.peerWnd, c.snd.lostN,
		c.rcv.reorderN, c.rcv.gotFin, c.rcv.eof, c.lastRecv.UnixNano(), c.timers,
		c.snd.dupAcks, c.rec.reoMult, len(c.rec.unproven), c.rec.horizon, c.rec.hasHorizon, c.rec.undoable}
}

// sameButTimeWait reports whether a and b differ at most in when
// TIME-WAIT ends.
func sameButTimeWait(a, b connPrint) bool {
	a.timers[timerTimeWait] = b.timers[timerTimeWait]
	return a == b
}

// forge delivers one packet to the working copy of the state and
// classifies the result. A packet that is ignored must leave the copy as
// it was (checked on the fields that matter), so the copy serves the
// next packet; after any other outcome it is replaced by a fresh copy.
func forge(t *testing.T, st *oddsState, h wire.Header, payload []byte) forgeOutcome {
	if st.work == nil {
		st.work = cloneConn(st.tc.conn, st.outBuf)
		st.outBuf = st.work.snd.out
		st.fp = fingerprint(st.work)
	}
	c := st.work
	before := c.stats
	c.HandleParsed(st.tc.now, &h, payload)
	after := c.stats
	o := forgeAdmitted
	switch {
	case c.Closed():
		o = forgeReset
	case after.ResetsChallenged > before.ResetsChallenged:
		o = forgeChallenged
	case after.Duplicates > before.Duplicates && sameButTimeWait(fingerprint(c), st.fp):
		// In TIME-WAIT a duplicate also restarts TIME-WAIT, a bounded
		// number of times (TestTimeWaitRestartsBounded).
		o = forgeDuplicate
	case after.PacketsIgnored > before.PacketsIgnored:
		if got := fingerprint(c); got != st.fp {
			t.Fatalf("%s: ignored %v seq=%d ack=%d but the state moved:\n%+v\n%+v", st.name, h.Type, h.SeqNr, h.AckNr, st.fp, got)
		}
		return forgeIgnored
	}
	st.work = nil
	return o
}

// oddsStates builds the states the issue names. The window is the whole
// default receive buffer of a peer (4 MiB): LEDBAT grown as far as the
// peer lets it, which puts the most packets in flight.
func oddsStates(t *testing.T) []*oddsState {
	full := func() *testConn {
		peerWnd := func(tc *testConn) { tc.peerWnd = 4 << 20 }
		return newTestConn(t, roleDialer, withWindow(4<<20), peerWnd)
	}
	bulk := strings.Repeat("x", 4<<20)
	var states []*oddsState
	add := func(name string, tc *testConn) {
		tc.takeAll()
		tc.events = nil
		states = append(states, &oddsState{name: name, tc: tc})
	}

	add("idle", full())

	tc := full()
	tc.write(bulk)
	add("sending", tc)

	tc = full()
	for i := range 1000 {
		tc.peerData(tc.p(i), "data")
	}
	add("receiving", tc)

	tc = full()
	for i := range 1000 {
		tc.peerData(tc.p(i), "data")
	}
	tc.write(bulk)
	add("both", tc)

	tc = full()
	tc.write(strings.Repeat("y", 100<<10))
	tc.closeWrite()
	add("closing", tc)

	// An acceptor whose dialer has not proven its address: here an
	// admitted packet is a forged proof (amplify.go), what a spoofed SYN
	// needs to pass for a real dialer.
	add("unproven", newRawTestConn(t, roleAcceptor))

	// The peer's whole stream is in and all we wrote is acknowledged, our
	// FIN not yet sent: here an exact RESET ends the connection cleanly
	// (onReset's peerLeft), so a forged one would pass for the peer
	// leaving; the odds must be those of any other reset.
	tc = full()
	tc.write("req")
	tc.takeAll()
	tc.peerAck(tc.s(0))
	tc.peerData(tc.p(0), "resp")
	tc.peerFin(tc.p(1))
	add("peer done", tc)

	// TIME-WAIT, before the IO layer retires the Conn into a TimeWait
	// (whose odds timeWaitOdds counts).
	add("time-wait", timeWaitConn(t))
	return states
}

// oddsCount is what one state admits, counted over the 16-bit spaces.
type oddsCount struct {
	ackOK     int     // ack_nr values admitted with a seq_nr in the window
	seqData   int     // seq_nr values a DATA or FIN is admitted with (acceptable ack_nr)
	seqDup    int     // seq_nr values taken for a duplicate
	seqDupAck int     // seq_nr values behind ack_nr whose duplicate's advancing ack_nr is taken (takeDuplicateAck)
	ackAdv    int     // ack_nr values that advance what we sent: the ones a duplicate may carry in
	seqFin    int     // seq_nr values a FIN is admitted with (acceptable ack_nr)
	seqState  int     // seq_nr values a STATE is admitted with
	resetKnow float64 // probability that a RESET with the right id resets
	challenge float64 // probability that it is challenged
	inFlight  int
}

// count enumerates every ack_nr and seq_nr against st.
func (st *oddsState) count(t *testing.T) oddsCount {
	c := st.tc.conn
	r := oddsCount{inFlight: c.snd.inUse(), ackAdv: c.snd.inUse()}
	next := c.rcv.ackNr + 1
	acks := make([]bool, 1<<16)
	// A full SACK as long as our own data packets carry: unless admitted
	// it must not count a duplicate ACK, set the SACK horizon or declare
	// a loss (the fingerprint holds all three).
	sack := bytes.Repeat([]byte{0xff}, dataSACKBytes)
	peer := func(typ wire.Type, seq, ack uint16) wire.Header {
		h := st.tc.peerHeader(typ, seq, ack)
		h.WndSize = 0 // a forged zero window: must not stall us unless admitted
		if typ == wire.State {
			h.SACK = sack
		}
		return h
	}
	for a := range 1 << 16 {
		if forge(t, st, peer(wire.State, next, uint16(a)), nil) == forgeAdmitted {
			acks[a] = true
			r.ackOK++
		}
	}
	if c.snd.unconfirmed {
		// Before the proof any acceptable ack_nr echoes our initial
		// sequence number, and a duplicate of the SYN carrying one
		// proves the dialer (proveByDuplicate), not only one that
		// advances.
		r.ackAdv = r.ackOK
	}
	goodAck := c.snd.seqNr - 1
	if !acks[goodAck] {
		t.Fatalf("%s: the last sequence number we sent is not an acceptable ack_nr", st.name)
	}
	seqData := make([]forgeOutcome, 1<<16)
	for s := range 1 << 16 {
		behind := wire.SeqLess(uint16(s), next)
		seqData[s] = forge(t, st, peer(wire.Data, uint16(s), goodAck), []byte("forged"))
		switch {
		case seqData[s] == forgeAdmitted && behind:
			r.seqDupAck++ // goodAck advances: the duplicate's ack_nr is taken
		case seqData[s] == forgeAdmitted:
			r.seqData++
		case seqData[s] == forgeDuplicate:
			r.seqDup++
		}
		if forge(t, st, peer(wire.Fin, uint16(s), goodAck), nil) == forgeAdmitted && !behind {
			r.seqFin++
		}
		if forge(t, st, peer(wire.State, uint16(s), goodAck), nil) == forgeAdmitted {
			r.seqState++
		}
	}
	// A RESET's outcome may depend on both fields; this counts it exactly:
	// seq_nr is either the one we expect next or one of 65,535 others,
	// and two of those others stand for all of them (checked).
	other1, other2 := next+1, next+0x8000
	var resets, challenges float64
	for a := range 1 << 16 {
		o1 := forge(t, st, peer(wire.Reset, other1, uint16(a)), nil)
		if o2 := forge(t, st, peer(wire.Reset, other2, uint16(a)), nil); o1 != o2 {
			t.Fatalf("%s: RESET ack=%d: seq_nr %d gives %v, %d gives %v", st.name, a, other1, o1, other2, o2)
		}
		on := forge(t, st, peer(wire.Reset, next, uint16(a)), nil)
		for _, x := range []struct {
			o forgeOutcome
			w float64
		}{{o1, 65535}, {on, 1}} {
			switch x.o {
			case forgeReset:
				resets += x.w
			case forgeChallenged:
				challenges += x.w
			}
		}
	}
	r.resetKnow = resets / (1 << 32)
	r.challenge = challenges / (1 << 32)
	st.checkSeparable(t, acks, seqData)
	return r
}

// checkSeparable checks on random pairs that a DATA packet is admitted
// exactly when its ack_nr and its seq_nr are each acceptable, which is
// what lets the odds be a product of the two counts.
func (st *oddsState) checkSeparable(t *testing.T, acks []bool, seqData []forgeOutcome) {
	rng := rand.New(rand.NewPCG(12, 0))
	c := st.tc.conn
	for range 3000 {
		a, s := uint16(rng.Uint32()), uint16(rng.Uint32())
		if rng.IntN(2) == 0 {
			a = c.snd.una - 8 + uint16(rng.IntN(int(c.snd.inUse())*2+16)) // near the edges
		}
		want := forgeIgnored
		if acks[a] {
			want = seqData[s]
		}
		if want == forgeAdmitted && wire.SeqLess(s, c.rcv.ackNr+1) {
			// Once proven, only an ack_nr that advances is taken from a
			// duplicate; before, only a duplicate of the SYN proves.
			if c.snd.unconfirmed && s != c.rcv.ackNr || !c.snd.unconfirmed && !wire.SeqLess(c.snd.una-1, a) {
				want = forgeDuplicate
			}
		}
		h := st.tc.peerHeader(wire.Data, s, a)
		if got := forge(t, st, h, []byte("forged")); got != want {
			t.Fatalf("%s: DATA seq=%d ack=%d: %v, want %v", st.name, s, a, got, want)
		}
	}
}

func log2(p float64) float64 { return math.Log2(p) }

// TestForgedPacketOdds is the table of docs/security.md: for every state,
// the chance that one forged packet with the right connection id is
// admitted, by type, and the mean number of forged packets a blind
// attacker needs per success.
func TestForgedPacketOdds(t *testing.T) {
	skipIfShort(t)
	const blindTarget, resetTarget = 24.0, 15.0 // log2 of forged packets per success
	var table bytes.Buffer
	fmt.Fprintf(&table, "%-10s %8s %8s %8s %8s %8s | %-28s | %s\n", "state", "inflight", "ack ok", "seq d/f", "dup ack", "seq st",
		"id known: log2 P data/fin, state, reset", "blind: log2 packets per success (worst)")
	for _, st := range oddsStates(t) {
		r := st.count(t)
		if r.seqFin != r.seqData {
			t.Errorf("%s: %d seq_nr values admit a FIN, %d a DATA", st.name, r.seqFin, r.seqData)
		}
		pData := (float64(r.ackOK)*float64(r.seqData) + float64(r.ackAdv)*float64(r.seqDupAck)) / (1 << 32)
		pState := float64(r.ackOK) * float64(r.seqState) / (1 << 32)
		worst := max(pData, pState, r.resetKnow)
		blind := -log2(worst / (1 << 16))
		fmt.Fprintf(&table, "%-10s %8d %8d %8d %8d %8d | %8.2f %8.2f %8.2f   | %.2f\n", st.name, r.inFlight, r.ackOK, r.seqData, r.seqDupAck, r.seqState,
			log2(pData), log2(pState), log2(r.resetKnow), blind)
		if blind < blindTarget {
			t.Errorf("%s: a blind attacker succeeds every 2^%.2f forged packets, want at least 2^%v", st.name, blind, blindTarget)
		}
		if k := -log2(r.resetKnow); k < resetTarget {
			t.Errorf("%s: with the id known a RESET succeeds every 2^%.2f forged packets, want at least 2^%v", st.name, k, resetTarget)
		}
		if r.challenge == 0 && st.name != "time-wait" { // TIME-WAIT waits its end out instead
			t.Errorf("%s: no RESET is challenged", st.name)
		}
		if r.seqDup+r.seqDupAck == 0 {
			t.Errorf("%s: no seq_nr is taken for a duplicate", st.name)
		}
	}
	tw := timeWaitOdds(t)
	fmt.Fprintf(&table, "%-10s %8d %8d %8d %8s %8s | %8s %8s %8.2f   | %.2f (RESET; a SYN with the id ends it: 16.00)\n", "tw record", 0, tw.ackOK, tw.seqDup, "-", "-",
		"-", "-", log2(tw.resetKnow), -log2(tw.resetKnow/(1<<16)))
	if k := -log2(tw.resetKnow); k < resetTarget {
		t.Errorf("TimeWait record: with the id known a RESET ends it every 2^%.2f forged packets, want at least 2^%v", k, resetTarget)
	}
	t.Logf("forged packet odds (2^32 ack×seq pairs per type; seq d/f: DATA or FIN admitted, for the record those re-ACKed; dup ack: duplicates whose advancing ack_nr is taken; seq st: STATE):\n%s", table.String())
}

// timeWaitOdds counts what a retired TIME-WAIT record (TimeWait) does
// with every ack_nr and seq_nr: nothing is admitted there, a DATA or FIN
// taken for a retransmission of the peer's FIN is acknowledged again, and
// a RESET may end it. Its ack_nr and seq_nr values must be those of the
// Conn in TIME-WAIT (TestTimeWaitAnswersAsConn checks the answers one by
// one); here the counts are checked against the rule: 4 ack_nr values,
// dupWindow seq_nr values, nothing at or past the peer's FIN answered.
func timeWaitOdds(t *testing.T) oddsCount {
	tc := timeWaitConn(t)
	w0, ok := tc.conn.Retire()
	if !ok {
		t.Fatal("not retired")
	}
	now := tc.now.Add(time.Second)
	buf := make([]byte, wire.HeaderSize)
	try := func(typ wire.Type, seq, ack uint16) (answered, ended bool) {
		w := w0
		h := tc.peerHeader(typ, seq, ack)
		n, end := w.HandlePacket(now, &h, buf)
		return n > 0, end
	}
	fin, goodAck := w0.ackNr, w0.seqNr-1
	var r oddsCount
	for a := range 1 << 16 {
		if ans, _ := try(wire.Fin, fin, uint16(a)); ans {
			r.ackOK++
		}
	}
	for s := range 1 << 16 {
		ans, _ := try(wire.Data, uint16(s), goodAck)
		if ans {
			r.seqDup++
			if !wire.SeqLess(uint16(s), fin+1) {
				t.Errorf("TimeWait record: DATA seq=%d at or past the peer's FIN %d answered", s, fin)
			}
		}
		if ans2, _ := try(wire.Fin, uint16(s), goodAck); ans2 != ans {
			t.Errorf("TimeWait record: seq=%d answered %v as DATA, %v as FIN", s, ans, ans2)
		}
		if ans, end := try(wire.State, uint16(s), goodAck); ans || end {
			t.Errorf("TimeWait record: STATE seq=%d answered %v, ended %v", s, ans, end)
		}
	}
	if r.ackOK != ackNrAllowedWindow+1 || r.seqDup != dupWindow {
		t.Errorf("TimeWait record: %d ack_nr and %d seq_nr values answered, want %d and %d", r.ackOK, r.seqDup, ackNrAllowedWindow+1, dupWindow)
	}
	var ends float64
	for a := range 1 << 16 {
		_, e1 := try(wire.Reset, fin+2, uint16(a))
		if _, e2 := try(wire.Reset, fin+0x8000, uint16(a)); e1 != e2 {
			t.Fatalf("TimeWait record: RESET ack=%d ends %v or %v by seq_nr", a, e1, e2)
		}
		_, en := try(wire.Reset, fin+1, uint16(a))
		if e1 {
			ends += 65535
		}
		if en {
			ends++
		}
	}
	r.resetKnow = ends / (1 << 32)
	return r
}
