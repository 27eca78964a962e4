package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Scripted packet tests: one Conn, a fake peer played by the test, and
// virtual time. After every step (a packet from the peer, an application
// call, time passing) the harness drains every output of the Conn the way
// the IO layer does: datagrams go to tc.sent, events to tc.events. Tests
// then consume them with wantPacket, wantIdle and wantEvent.
//
// After every step the harness also checks the properties of the sans-IO
// contract: NextDeadline is zero or not before now, and HandleTimeout
// before the deadline changes nothing observable.

// scriptEpoch is virtual time zero of every scripted test.
var scriptEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	scriptRecvID  uint16 = 0x1234 // the dialer's receive id, carried by the SYN
	scriptISN     uint16 = 1000   // our initial sequence number
	scriptPeerISN uint16 = 5000   // the fake peer's
	scriptPeerWnd uint32 = 1 << 20
	// scriptPeerDelay is the timestamp_difference the peer reports: a
	// constant one-way delay, so LEDBAT sees no queuing.
	scriptPeerDelay uint32 = 20000
	// scriptHandshakeRTT is how long the fake acceptor takes to answer
	// our SYN; it becomes the dialer's first RTT sample.
	scriptHandshakeRTT = 50 * time.Millisecond
)

type tcRole uint8

const (
	roleDialer   tcRole = iota // we Dial; the fake peer accepts
	roleAcceptor               // the fake peer dials; we Accept
)

func (r tcRole) String() string {
	if r == roleDialer {
		return "dialer"
	}
	return "acceptor"
}

// forEachRole runs f as a subtest for both sides of the handshake.
func forEachRole(t *testing.T, f func(t *testing.T, role tcRole)) {
	for _, r := range []tcRole{roleDialer, roleAcceptor} {
		t.Run(r.String(), func(t *testing.T) { f(t, r) })
	}
}

// testConn is one Conn under test and the state of the fake peer.
type testConn struct {
	t    *testing.T
	role tcRole
	cfg  Config
	conn *Conn
	now  time.Time
	buf  []byte
	rbuf []byte

	isn, peerISN     uint16
	first, peerFirst uint16 // seq_nr of our and the peer's first DATA

	// The fake peer: its ack_nr, next seq_nr, advertised window and the
	// timestamp_difference it reports.
	peerAckNr uint16
	peerNext  uint16
	peerWnd   uint32
	peerDelay uint32
	// peerMaxDatagram is what the peer's SYN, or its STATE answering
	// ours, advertises with the datagram-size extension; 0: nothing.
	peerMaxDatagram uint32

	sent     []sentPacket // drained from PollTransmit, not yet consumed
	events   []Event      // drained from NextEvent, not yet consumed
	closed   bool         // EventClosed was reported
	closeErr error
}

// sentPacket is one datagram the Conn produced.
type sentPacket struct {
	h       wire.Header
	payload []byte
	raw     []byte
	at      time.Time
	frag    bool // Fragmentable: a stranded packet's resend
}

func (p sentPacket) String() string {
	s := fmt.Sprintf("%v seq=%d ack=%d wnd=%d", p.h.Type, p.h.SeqNr, p.h.AckNr, p.h.WndSize)
	if p.h.SACK != nil {
		s += fmt.Sprintf(" sack=%v(%d bytes)", sackSeqs(p.h.AckNr, p.h.SACK), len(p.h.SACK))
	}
	if len(p.payload) > 0 {
		s += " payload=" + abbrev(string(p.payload))
	}
	return s
}

func abbrev(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...%q (%d bytes)", s[:16], s[len(s)-16:], len(s))
	}
	return fmt.Sprintf("%q", s)
}

type tcOption func(*testConn)

// withConfig adjusts the Conn's Config.
func withConfig(f func(*Config)) tcOption { return func(tc *testConn) { f(&tc.cfg) } }

// withPeerMaxDatagram makes the fake peer advertise that it reads
// datagrams of up to n bytes, in its SYN or in its answer to ours.
func withPeerMaxDatagram(n uint32) tcOption {
	return func(tc *testConn) { tc.peerMaxDatagram = n }
}

// withISN sets our and the peer's initial sequence numbers.
func withISN(ours, peer uint16) tcOption {
	return func(tc *testConn) { tc.isn, tc.peerISN = ours, peer }
}

// withWindow replaces LEDBAT by a fixed congestion window of n bytes, for
// tests about something other than congestion control.
func withWindow(n int) tcOption {
	return withConfig(func(c *Config) {
		c.NewController = func(time.Time, int) cc.Controller { return &fixedWindow{wnd: n} }
	})
}

// newRawTestConn creates the Conn and stops before the handshake
// completes: a dialer has queued its SYN, an acceptor its STATE.
func newRawTestConn(t *testing.T, role tcRole, opts ...tcOption) *testConn {
	t.Helper()
	tc := &testConn{
		t: t, role: role, now: scriptEpoch,
		isn: scriptISN, peerISN: scriptPeerISN,
		peerWnd: scriptPeerWnd, peerDelay: scriptPeerDelay,
		rbuf: make([]byte, 64<<10),
	}
	// Scripts send bursts at one instant and check each packet; the
	// pacing tests turn pacing back on. Scripts of the retransmission
	// timeout expect no tail loss probe before it; the probe's tests
	// turn it back on.
	tc.cfg.NoPacing = true
	tc.cfg.NoTailProbe = true
	for _, o := range opts {
		o(tc)
	}
	switch role {
	case roleDialer:
		tc.first, tc.peerFirst = tc.isn+1, tc.peerISN
		tc.conn = Dial(tc.now, tc.cfg, scriptRecvID, tc.isn)
	case roleAcceptor:
		tc.first, tc.peerFirst = tc.isn, tc.peerISN+1
		tc.conn = Accept(tc.now, tc.cfg, tc.synHeader(), tc.isn)
	}
	tc.peerAckNr = tc.first - 1
	tc.peerNext = tc.peerFirst
	tc.buf = make([]byte, tc.conn.MaxDatagram())
	tc.finish(role.String())
	return tc
}

// newTestConn returns an established connection with nothing pending.
func newTestConn(t *testing.T, role tcRole, opts ...tcOption) *testConn {
	t.Helper()
	tc := newRawTestConn(t, role, opts...)
	switch role {
	case roleDialer:
		tc.wantPacket("SYN", pkt{typ: wire.Syn, seq: u16(tc.isn)})
		tc.advance(scriptHandshakeRTT)
		reply := tc.peerHeader(wire.State, tc.peerISN, tc.isn)
		reply.MaxDatagram = tc.peerMaxDatagram
		tc.writePacket(reply, "")
		// The dialer confirms with an empty DATA, which takes a sequence
		// number (libutp's acceptor leaves SYN_RECV only on DATA), as it
		// does when a Read waits first.
		if !tc.confirm() {
			t.Fatal("no confirmation due after the handshake")
		}
		tc.wantPacket("empty DATA confirming the handshake", pkt{typ: wire.Data, seq: u16(tc.isn + 1), ack: u16(tc.peerISN - 1)})
		tc.advance(scriptHandshakeRTT)
		tc.peerAck(tc.isn + 1)
		tc.first = tc.isn + 2
	case roleAcceptor:
		tc.wantPacket("STATE answering the SYN", pkt{typ: wire.State, seq: u16(tc.isn), ack: u16(tc.peerISN)})
		tc.wantEvent("handshake", EventConnected)
		// The dialer proves its address by echoing our initial sequence
		// number (amplify.go); until then we would send nothing.
		tc.peerAck(tc.isn - 1)
		tc.wantEvent("proof", EventProven)
		tc.wantIdle("after the handshake")
		return tc
	}
	tc.wantEvent("handshake", EventConnected)
	tc.wantIdle("after the handshake")
	return tc
}

// s is the sequence number of our i-th DATA packet (or FIN).
func (tc *testConn) s(i int) uint16 { return tc.first + uint16(i) }

// p is the sequence number of the peer's i-th DATA packet (or FIN).
func (tc *testConn) p(i int) uint16 { return tc.peerFirst + uint16(i) }

func (tc *testConn) elapsed() time.Duration { return tc.now.Sub(scriptEpoch) }

// ---- Inputs from the fake peer ----

// synHeader is the fake dialer's SYN (acceptor role).
func (tc *testConn) synHeader() wire.Header {
	return wire.Header{Type: wire.Syn, ConnID: scriptRecvID, Timestamp: micros(tc.now),
		WndSize: tc.peerWnd, SeqNr: tc.peerISN, MaxDatagram: tc.peerMaxDatagram}
}

// peerHeader is a header from the fake peer with its defaults filled in.
func (tc *testConn) peerHeader(typ wire.Type, seq, ack uint16) wire.Header {
	return wire.Header{Type: typ, ConnID: tc.conn.RecvID(), Timestamp: micros(tc.now),
		TimestampDiff: tc.peerDelay, WndSize: tc.peerWnd, SeqNr: seq, AckNr: ack}
}

// writePacket encodes h and payload and delivers them at tc.now.
func (tc *testConn) writePacket(h wire.Header, payload string) {
	tc.t.Helper()
	b := h.Append(nil)
	b = append(b, payload...)
	tc.conn.HandlePacket(tc.now, b)
	tc.finish(fmt.Sprintf("%v seq=%d ack=%d from the peer", h.Type, h.SeqNr, h.AckNr))
}

// writeRaw delivers an arbitrary datagram.
func (tc *testConn) writeRaw(b []byte) {
	tc.t.Helper()
	tc.conn.HandlePacket(tc.now, b)
	tc.finish(fmt.Sprintf("raw datagram %x", b))
}

func (tc *testConn) notePeerSeq(seq uint16) {
	if wire.SeqLessEq(tc.peerNext, seq) {
		tc.peerNext = seq + 1
	}
}

// peerData sends a DATA packet carrying the peer's current ack_nr.
func (tc *testConn) peerData(seq uint16, payload string) {
	tc.t.Helper()
	tc.notePeerSeq(seq)
	tc.writePacket(tc.peerHeader(wire.Data, seq, tc.peerAckNr), payload)
}

// peerFin sends the peer's FIN.
func (tc *testConn) peerFin(seq uint16) {
	tc.t.Helper()
	tc.notePeerSeq(seq)
	tc.writePacket(tc.peerHeader(wire.Fin, seq, tc.peerAckNr), "")
}

// peerAck sends a STATE acknowledging ack and, selectively, sacked.
func (tc *testConn) peerAck(ack uint16, sacked ...uint16) {
	tc.t.Helper()
	tc.peerAckNr = ack
	h := tc.peerHeader(wire.State, tc.peerNext, ack)
	if len(sacked) > 0 {
		h.SACK = sackMask(ack, sacked...)
	}
	tc.writePacket(h, "")
}

// peerKeepalive sends libutp's keepalive: a STATE acking ack_nr−1.
func (tc *testConn) peerKeepalive() {
	tc.t.Helper()
	tc.writePacket(tc.peerHeader(wire.State, tc.peerNext, tc.peerAckNr-1), "")
}

// peerReset sends a RESET.
func (tc *testConn) peerReset() {
	tc.t.Helper()
	tc.writePacket(tc.peerHeader(wire.Reset, tc.peerNext, tc.peerAckNr), "")
}

// sackMask builds a BEP 29 selective-ACK bitmask: bit i acknowledges
// ack+2+i. Its length is a multiple of 4, as libutp requires.
func sackMask(ack uint16, seqs ...uint16) []byte {
	top := 0
	for _, s := range seqs {
		top = max(top, int(s-ack-2))
	}
	mask := make([]byte, (top/32+1)*4)
	for _, s := range seqs {
		wire.SACKSet(mask, int(s-ack-2))
	}
	return mask
}

// sackSeqs lists the sequence numbers a bitmask acknowledges.
func sackSeqs(ack uint16, mask []byte) []uint16 {
	var seqs []uint16
	for i := range len(mask) * 8 {
		if wire.SACKHas(mask, i) {
			seqs = append(seqs, ack+2+uint16(i))
		}
	}
	return seqs
}

// ---- Inputs from the application ----

func (tc *testConn) write(s string) {
	tc.t.Helper()
	n, err := tc.conn.Write(tc.now, []byte(s))
	if err != nil || n != len(s) {
		tc.t.Fatalf("at %v: Write(%d bytes) = %d, %v", tc.elapsed(), len(s), n, err)
	}
	tc.finish("Write")
}

// confirm is what the IO layer does when a Read is about to wait.
func (tc *testConn) confirm() bool {
	tc.t.Helper()
	due := tc.conn.Confirm()
	tc.finish("Confirm")
	return due
}

// push is what the IO layer does when a Read is about to wait; want is
// whether written data was still unsent.
func (tc *testConn) push(want bool) {
	tc.t.Helper()
	if got := tc.conn.Push(); got != want {
		tc.t.Fatalf("at %v: Push() = %v, want %v", tc.elapsed(), got, want)
	}
	tc.finish("Push")
}

// pushBehindOne is what the IO layer does after a Write while a Read
// waits; want is whether it pushed.
func (tc *testConn) pushBehindOne(want bool) {
	tc.t.Helper()
	if got := tc.conn.PushBehindOne(); got != want {
		tc.t.Fatalf("at %v: PushBehindOne() = %v, want %v", tc.elapsed(), got, want)
	}
	tc.finish("PushBehindOne")
}

func (tc *testConn) closeWrite() {
	tc.t.Helper()
	tc.conn.CloseWrite(tc.now)
	tc.finish("CloseWrite")
}

func (tc *testConn) reset() {
	tc.t.Helper()
	tc.conn.Reset(tc.now)
	tc.finish("Reset")
}

// read returns everything readable now; it stops quietly at io.EOF.
func (tc *testConn) read() string {
	tc.t.Helper()
	return tc.readN(-1)
}

// readN reads at most n bytes (n < 0: no limit).
func (tc *testConn) readN(n int) string {
	tc.t.Helper()
	var out []byte
	for n < 0 || len(out) < n {
		b := tc.rbuf
		if n >= 0 {
			b = b[:min(len(b), n-len(out))]
		}
		m, err := tc.conn.Read(tc.now, b)
		out = append(out, b[:m]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			tc.t.Fatalf("at %v: Read: %v", tc.elapsed(), err)
		}
		if m == 0 {
			break
		}
	}
	tc.finish("Read")
	return string(out)
}

func (tc *testConn) wantRead(why, want string) {
	tc.t.Helper()
	if got := tc.read(); got != want {
		tc.t.Fatalf("%s: read %s, want %s", why, abbrev(got), abbrev(want))
	}
}

func (tc *testConn) wantEOF(why string) {
	tc.t.Helper()
	tc.wantReadErr(why, io.EOF)
}

func (tc *testConn) wantReadErr(why string, want error) {
	tc.t.Helper()
	n, err := tc.conn.Read(tc.now, tc.rbuf)
	if n != 0 || !errors.Is(err, want) {
		tc.t.Fatalf("%s: Read = %d, %v; want 0, %v", why, n, err, want)
	}
	tc.finish("Read")
}

func (tc *testConn) wantWriteErr(why string, want error) {
	tc.t.Helper()
	n, err := tc.conn.Write(tc.now, []byte("x"))
	if n != 0 || !errors.Is(err, want) {
		tc.t.Fatalf("%s: Write = %d, %v; want 0, %v", why, n, err, want)
	}
	tc.finish("Write")
}

// sendPackets writes n packets of size bytes each (PacketSize must be
// size) and consumes them, checking their sequence numbers.
func (tc *testConn) sendPackets(n, size int) []string {
	tc.t.Helper()
	var chunks []string
	for i := range n {
		chunks = append(chunks, strings.Repeat(string(rune('0'+i%10)), size))
	}
	tc.write(strings.Join(chunks, ""))
	for i := range n {
		tc.wantPacket(fmt.Sprintf("packet %d", i), pkt{typ: wire.Data, seq: u16(tc.s(i)), payload: chunks[i]})
	}
	tc.wantIdle("all packets sent")
	return chunks
}

// ---- Time ----

// advance moves virtual time forward by d as an IO layer would: calling
// HandleTimeout at every deadline on the way (draining the outputs each
// time) and once more at the end.
func (tc *testConn) advance(d time.Duration) {
	tc.t.Helper()
	tc.advanceTo(tc.now.Add(d))
}

func (tc *testConn) advanceTo(target time.Time) {
	tc.t.Helper()
	if target.Before(tc.now) {
		tc.t.Fatalf("advanceTo %v: time cannot go back from %v", target.Sub(scriptEpoch), tc.elapsed())
	}
	for i := 0; ; i++ {
		if i > 10000 {
			tc.t.Fatalf("at %v: timers keep firing without time passing", tc.elapsed())
		}
		dl := tc.conn.NextDeadline()
		if dl.IsZero() || dl.After(target) {
			break
		}
		if dl.After(tc.now) {
			// Just before the deadline HandleTimeout must still do nothing.
			tc.now = dl.Add(-time.Nanosecond)
			tc.checkEarlyTimeout("waiting for the timer")
			tc.now = dl
		}
		tc.conn.HandleTimeout(tc.now)
		tc.finish(fmt.Sprintf("timer at %v", tc.elapsed()))
	}
	tc.now = target
	tc.conn.HandleTimeout(tc.now)
	tc.finish(fmt.Sprintf("advance to %v", tc.elapsed()))
}

// advanceToTimer jumps to the next deadline and fires it.
func (tc *testConn) advanceToTimer() {
	tc.t.Helper()
	dl := tc.conn.NextDeadline()
	if dl.IsZero() {
		tc.t.Fatalf("at %v: advanceToTimer: no timer armed", tc.elapsed())
	}
	if dl.Before(tc.now) {
		dl = tc.now
	}
	tc.advanceTo(dl)
}

// ---- Outputs ----

// finish drains the Conn's outputs after a step and checks the
// invariants.
func (tc *testConn) finish(step string) {
	tc.t.Helper()
	c := tc.conn
	for i := 0; ; i++ {
		if i > 100000 {
			tc.t.Fatalf("after %s: PollTransmit never runs dry", step)
		}
		n, ok := c.PollTransmit(tc.now, tc.buf)
		if !ok {
			break
		}
		tc.record(step, tc.buf[:n], c.Fragmentable())
	}
	for i := 0; ; i++ {
		ev := c.NextEvent()
		if ev.Kind == EventNone {
			break
		}
		if i > 16 {
			tc.t.Fatalf("after %s: NextEvent never runs dry", step)
		}
		if ev.Kind == EventClosed {
			if tc.closed {
				tc.t.Fatalf("after %s: a second EventClosed (%v)", step, ev.Err)
			}
			tc.closed, tc.closeErr = true, ev.Err
		}
		tc.events = append(tc.events, ev)
	}
	if c.Closed() && !tc.closed {
		tc.t.Fatalf("after %s: Closed() without EventClosed", step)
	}
	if dl := c.NextDeadline(); !dl.IsZero() && dl.Before(tc.now) {
		tc.t.Fatalf("after %s: NextDeadline %v is before now %v", step, dl.Sub(scriptEpoch), tc.elapsed())
	}
	tc.checkEarlyTimeout(step)
}

// checkEarlyTimeout calls HandleTimeout before the next deadline and
// fails if anything observable changes: a spurious call is a no-op.
func (tc *testConn) checkEarlyTimeout(step string) {
	tc.t.Helper()
	c := tc.conn
	dl := c.NextDeadline()
	if !dl.IsZero() && !tc.now.Before(dl) {
		return // a timer is due: HandleTimeout would rightly act
	}
	before := c.Stats()
	c.HandleTimeout(tc.now)
	if n, ok := c.PollTransmit(tc.now, tc.buf); ok {
		h, _, _ := wire.Parse(tc.buf[:n])
		tc.t.Fatalf("after %s: HandleTimeout at %v, before the deadline %v, sent %v seq=%d ack=%d",
			step, tc.elapsed(), dl.Sub(scriptEpoch), h.Type, h.SeqNr, h.AckNr)
	}
	if ev := c.NextEvent(); ev.Kind != EventNone {
		tc.t.Fatalf("after %s: HandleTimeout at %v, before the deadline, reported %v %v", step, tc.elapsed(), ev.Kind, ev.Err)
	}
	if after := c.Stats(); after != before {
		tc.t.Fatalf("after %s: HandleTimeout at %v, before the deadline, changed stats\nbefore %+v\nafter  %+v", step, tc.elapsed(), before, after)
	}
	if got := c.NextDeadline(); !got.Equal(dl) {
		tc.t.Fatalf("after %s: HandleTimeout at %v, before the deadline, moved it from %v to %v", step, tc.elapsed(), dl, got)
	}
}

// record parses one datagram from PollTransmit and checks what every
// datagram must satisfy.
func (tc *testConn) record(step string, b []byte, frag bool) {
	tc.t.Helper()
	raw := bytes.Clone(b)
	h, payload, err := wire.Parse(raw)
	if err != nil {
		tc.t.Fatalf("after %s: sent an unparsable datagram %x: %v", step, raw, err)
	}
	p := sentPacket{h: h, payload: payload, raw: raw, at: tc.now, frag: frag}
	wantID := tc.conn.SendID()
	if h.Type == wire.Syn {
		wantID = tc.conn.RecvID() // BEP 29: the SYN carries the receive id
	}
	switch {
	case h.ConnID != wantID:
		tc.t.Fatalf("after %s: sent %v with connection_id %#x, want %#x", step, p, h.ConnID, wantID)
	case frag && (h.Type != wire.Data || len(raw) <= tc.conn.PathMTU()):
		tc.t.Fatalf("after %s: sent %v fragmentable, a %d-byte datagram the path carries (%d)", step, p, len(raw), tc.conn.PathMTU())
	case len(payload) > tc.conn.maxPayload() && !frag:
		tc.t.Fatalf("after %s: sent %v, payload over maxPayload %d", step, p, tc.conn.maxPayload())
	case len(raw) > tc.conn.peerDatagram() && !tc.conn.cfg.PacketSizeOverride:
		tc.t.Fatalf("after %s: sent %v, a %d-byte datagram, more than the peer reads (%d)", step, p, len(raw), tc.conn.peerDatagram())
	case h.SACK != nil && (len(h.SACK)%4 != 0 || len(h.SACK) > tc.conn.cfg.MaxSACKBytes):
		tc.t.Fatalf("after %s: sent %v, SACK of %d bytes (libutp wants a multiple of 4, at most %d)", step, p, len(h.SACK), tc.conn.cfg.MaxSACKBytes)
	case (h.Type == wire.State || h.Type == wire.Reset || h.Type == wire.Syn) && len(payload) > 0:
		tc.t.Fatalf("after %s: sent %v with a payload", step, p)
	case h.Type != wire.State && h.Timestamp != micros(tc.now):
		// STATE is exempt: the saved SYN reply is re-sent unchanged.
		tc.t.Fatalf("after %s: sent %v with timestamp %d, want %d", step, p, h.Timestamp, micros(tc.now))
	}
	tc.sent = append(tc.sent, p)
}

// pkt describes an expected datagram. typ is always compared; nil
// pointers and a nil sacked are wildcards; payload is compared except
// when empty on a DATA packet (then size, if nonzero, is).
type pkt struct {
	typ     wire.Type
	seq     *uint16
	ack     *uint16
	wnd     *uint32
	payload string
	size    int
	sacked  []uint16 // exactly the sequence numbers the SACK must name
	noSACK  bool     // the packet must not carry a SACK
}

func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }

func (w pkt) String() string {
	s := w.typ.String()
	if w.seq != nil {
		s += fmt.Sprintf(" seq=%d", *w.seq)
	}
	if w.ack != nil {
		s += fmt.Sprintf(" ack=%d", *w.ack)
	}
	if w.wnd != nil {
		s += fmt.Sprintf(" wnd=%d", *w.wnd)
	}
	if w.sacked != nil {
		s += fmt.Sprintf(" sack=%v", w.sacked)
	}
	if w.noSACK {
		s += " no-sack"
	}
	if w.payload != "" {
		s += " payload=" + abbrev(w.payload)
	}
	if w.size != 0 {
		s += fmt.Sprintf(" size=%d", w.size)
	}
	return s
}

// mismatch describes how got differs from w, or returns "".
func (w pkt) mismatch(got sentPacket) string {
	var d []string
	h := got.h
	if h.Type != w.typ {
		d = append(d, fmt.Sprintf("type %v, want %v", h.Type, w.typ))
	}
	if w.seq != nil && h.SeqNr != *w.seq {
		d = append(d, fmt.Sprintf("seq_nr %d, want %d", h.SeqNr, *w.seq))
	}
	if w.ack != nil && h.AckNr != *w.ack {
		d = append(d, fmt.Sprintf("ack_nr %d, want %d", h.AckNr, *w.ack))
	}
	if w.wnd != nil && h.WndSize != *w.wnd {
		d = append(d, fmt.Sprintf("wnd_size %d, want %d", h.WndSize, *w.wnd))
	}
	if (w.payload != "" || w.typ != wire.Data) && string(got.payload) != w.payload {
		d = append(d, fmt.Sprintf("payload %s, want %s", abbrev(string(got.payload)), abbrev(w.payload)))
	}
	if w.size != 0 && len(got.payload) != w.size {
		d = append(d, fmt.Sprintf("payload of %d bytes, want %d", len(got.payload), w.size))
	}
	if w.noSACK && h.SACK != nil {
		d = append(d, fmt.Sprintf("SACK %x present, want none", h.SACK))
	}
	if w.sacked != nil {
		if h.SACK == nil {
			d = append(d, fmt.Sprintf("no SACK, want one naming %v", w.sacked))
		} else if got := sackSeqs(h.AckNr, h.SACK); !slices.Equal(got, w.sacked) {
			d = append(d, fmt.Sprintf("SACK names %v, want %v", got, w.sacked))
		}
	}
	return strings.Join(d, "; ")
}

// wantPacket consumes the oldest unconsumed datagram and compares it.
func (tc *testConn) wantPacket(why string, want pkt) sentPacket {
	tc.t.Helper()
	if len(tc.sent) == 0 {
		tc.t.Fatalf("%s: nothing sent by %v, want %v", why, tc.elapsed(), want)
	}
	got := tc.sent[0]
	tc.sent = tc.sent[1:]
	if d := want.mismatch(got); d != "" {
		tc.t.Fatalf("%s: at %v got %v: %s", why, got.at.Sub(scriptEpoch), got, d)
	}
	return got
}

// wantIdle fails if any datagram is waiting to be consumed.
func (tc *testConn) wantIdle(why string) {
	tc.t.Helper()
	if len(tc.sent) > 0 {
		tc.t.Fatalf("%s: at %v sent %v, want nothing", why, tc.sent[0].at.Sub(scriptEpoch), tc.sent)
	}
}

// takeAll consumes every waiting datagram.
func (tc *testConn) takeAll() []sentPacket {
	s := tc.sent
	tc.sent = nil
	return s
}

// wantEvent consumes the first pending event of kind.
func (tc *testConn) wantEvent(why string, kind EventKind) Event {
	tc.t.Helper()
	i := slices.IndexFunc(tc.events, func(e Event) bool { return e.Kind == kind })
	if i < 0 {
		tc.t.Fatalf("%s: no %v event by %v (pending %v)", why, kind, tc.elapsed(), tc.events)
	}
	ev := tc.events[i]
	tc.events = slices.Delete(tc.events, i, i+1)
	return ev
}

func (tc *testConn) wantNoEvent(why string, kind EventKind) {
	tc.t.Helper()
	if slices.ContainsFunc(tc.events, func(e Event) bool { return e.Kind == kind }) {
		tc.t.Fatalf("%s: unexpected %v event by %v", why, kind, tc.elapsed())
	}
}

// wantClosed expects EventClosed with an error matching want (nil: a
// clean close).
func (tc *testConn) wantClosed(why string, want error) {
	tc.t.Helper()
	ev := tc.wantEvent(why, EventClosed)
	if (want == nil) != (ev.Err == nil) || !errors.Is(ev.Err, want) {
		tc.t.Fatalf("%s: EventClosed with %v, want %v", why, ev.Err, want)
	}
	if !tc.conn.Closed() {
		tc.t.Fatalf("%s: EventClosed but Closed() is false", why)
	}
}

// wantOpen fails if the connection has ended.
func (tc *testConn) wantOpen(why string) {
	tc.t.Helper()
	if tc.conn.Closed() {
		tc.t.Fatalf("%s: closed at %v with %v", why, tc.elapsed(), tc.closeErr)
	}
}

// fixedWindow is a congestion controller with a constant window.
type fixedWindow struct{ wnd int }

func (f *fixedWindow) OnAck(cc.Ack)                    {}
func (f *fixedWindow) OnLoss(time.Time, time.Duration) {}
func (f *fixedWindow) OnSpuriousLoss(time.Time)        {}
func (f *fixedWindow) OnTimeout(time.Time)             {}
func (f *fixedWindow) OnPeerDelay(time.Time, uint32)   {}
func (f *fixedWindow) Window() int                     { return f.wnd }
func (f *fixedWindow) QueuingDelay() time.Duration     { return 0 }
func (f *fixedWindow) InSlowStart() bool               { return false }
