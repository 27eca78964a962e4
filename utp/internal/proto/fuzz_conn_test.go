package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// fuzzChunk is the payload size of every DATA packet the fuzzed peer sends.
// Payloads are a function of the sequence number, so whatever the Conn
// delivers in order must be a prefix of the peer's stream.
const fuzzChunk = 7

func fuzzPeerByte(i int) byte { return byte(i*7 + i/251) }

// fuzzRun drives one Conn with operations decoded from data and checks the
// invariants after every step. It returns a description of the first
// violation, or "".
func fuzzRun(data []byte) string {
	return newFuzzRun(data).run()
}

// newFuzzRun decodes the role from data and creates the Conn.
func newFuzzRun(data []byte) *fuzzState {
	f := &fuzzState{data: data, now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{PacketSize: 64, RecvBufferSize: 256, SendBufferSize: 512, MaxReorder: 64, MaxSACKBytes: 8}
	const peerISN, ourISN, id = 40000, 65530, 0x1234
	role := f.byte()
	if role&2 != 0 {
		// Path MTU discovery, scaled down: a 60-byte base, probes up to
		// the 94 bytes PacketSize allows.
		cfg.PathBase, cfg.PathCeiling = 60, 200
	}
	if role&1 == 0 {
		f.c = Dial(f.now, cfg, id, ourISN)
		f.peerID = id
		f.drain()
		f.deliver(wire.Header{Type: wire.State, ConnID: id, SeqNr: peerISN, AckNr: ourISN, WndSize: 1 << 16}, nil)
	} else {
		f.c = Accept(f.now, cfg, wire.Header{Type: wire.Syn, ConnID: id, SeqNr: peerISN - 1, WndSize: 1 << 16}, ourISN)
		f.peerID = id + 1
	}
	f.peerISN = peerISN
	f.ourISN = ourISN
	if !f.c.Confirmed() {
		f.unprovenIn = wire.HeaderSize // the SYN
	}
	// Acks are drawn below the highest sequence number sent; start from
	// the first, so that they are plausible before the numbers wrap.
	f.sentSeq = ourISN
	return f
}

// run applies the operations left in the input, at most 200.
func (f *fuzzState) run() string {
	for steps := 0; steps < 200 && f.more() && f.bad == ""; steps++ {
		f.step()
		f.drain()
		f.check()
	}
	return f.bad
}

type fuzzState struct {
	data    []byte
	now     time.Time
	c       *Conn
	peerID  uint16
	peerISN uint16
	read    []byte
	wrote   int
	bad     string
	buf     [4096]byte
	sentSeq uint16 // highest seq the Conn sent, for plausible acks
	ourISN  uint16
	// Bytes exchanged while the acceptor was unproven (amplify.go).
	unprovenIn, unprovenOut int
}

func (f *fuzzState) more() bool { return len(f.data) > 0 }

func (f *fuzzState) byte() byte {
	if len(f.data) == 0 {
		return 0
	}
	b := f.data[0]
	f.data = f.data[1:]
	return b
}

func (f *fuzzState) u16() uint16 { return uint16(f.byte())<<8 | uint16(f.byte()) }

// step applies one operation: deliver a packet built from the input (with
// the extension chain the encoder writes, or an arbitrary one), a
// malformed datagram, advance time, read, write, close or reset.
func (f *fuzzState) step() {
	switch op := f.byte() % 9; op {
	case 0, 1:
		f.deliverStructured()
	case 2:
		n := int(f.byte() % 24)
		junk := make([]byte, n)
		for i := range junk {
			junk[i] = f.byte()
		}
		if n >= wire.HeaderSize {
			junk[0] = 0x02 // version 2: never uTP
		}
		if !f.c.Confirmed() {
			f.unprovenIn += n // the budget counts every datagram (amplify.go)
		}
		f.c.HandlePacket(f.now, junk)
	case 3:
		f.now = f.now.Add(time.Duration(f.u16()) * time.Millisecond)
		f.c.HandleTimeout(f.now)
	case 4:
		if d := f.c.NextDeadline(); !d.IsZero() {
			f.now = d
			f.c.HandleTimeout(f.now)
		}
	case 5:
		p := make([]byte, 1+int(f.byte()%64))
		n, err := f.c.Read(f.now, p)
		f.read = append(f.read, p[:n]...)
		if err != nil && n > 0 {
			f.bad = "Read returned data and an error"
		}
		if err != nil && !errors.Is(err, io.EOF) && !f.c.Closed() {
			f.bad = "Read failed on an open connection: " + err.Error()
		}
		if n == 0 && err == nil {
			f.c.Push() // as the IO layer does when a Read is about to wait
		}
	case 6:
		p := bytes.Repeat([]byte{'w'}, int(f.byte()))
		n, _ := f.c.Write(f.now, p)
		f.wrote += n
		if len(p)%2 == 1 {
			f.c.PushBehindOne() // as the IO layer does while a Read waits
		}
	case 7:
		if f.byte()%4 == 0 {
			f.c.Reset(f.now)
		} else {
			f.c.CloseWrite(f.now)
		}
	case 8:
		f.deliverExtensions()
	}
}

// deliverStructured delivers a plausible packet built from the input.
func (f *fuzzState) deliverStructured() {
	h, payload := f.structured()
	f.deliver(h, payload)
}

// structured builds a plausible packet from the input: type, a sequence
// number near the peer's stream, an ack_nr near what was sent, a window,
// an optional SACK. Payloads come from the peer's stream.
func (f *fuzzState) structured() (wire.Header, []byte) {
	ctl := f.byte()
	h := wire.Header{
		Type:          wire.Type(ctl % 5),
		ConnID:        f.peerID,
		Timestamp:     uint32(f.now.UnixMicro()) - uint32(f.byte())*1000,
		TimestampDiff: uint32(f.byte()) * 1000,
		WndSize:       uint32(f.byte()) * 64,
		SeqNr:         f.peerISN + uint16(int8(f.byte())),
		AckNr:         f.sentSeq - uint16(f.byte()%8),
	}
	if ctl&0x20 != 0 {
		// Anywhere: the acceptance rules must hold over the whole space.
		h.AckNr += uint16(f.byte()) << 8
	}
	if ctl&0x40 != 0 {
		h.ConnID ^= uint16(f.byte())
	}
	if ctl&0x80 != 0 {
		h.SACK = []byte{f.byte(), f.byte(), f.byte(), f.byte()}
	}
	var payload []byte
	if h.Type == wire.Data {
		off := int(wire.SeqDiff(h.SeqNr, f.peerISN)) * fuzzChunk
		if off >= 0 {
			payload = make([]byte, fuzzChunk)
			for i := range payload {
				payload[i] = fuzzPeerByte(off + i)
			}
		} else {
			h.Type = wire.State
		}
	}
	return h, payload
}

// fuzzExtTypes are the extension types deliverExtensions chooses from:
// mostly selective ACKs, libutp's extension bits (2), libtorrent's close
// reason (3), and unknown types, which are skipped after the first.
var fuzzExtTypes = [...]byte{1, 1, 1, 2, 3, 4, 9, 255}

// deliverExtensions delivers a packet whose header is plausible for this
// connection (as structured builds it) but whose extension chain comes
// from the input: one to four extensions of the types above with any
// length, selective ACKs of 1 to 252 bytes whatever their multiple of 4,
// and sometimes a chain cut short. Header.Put only writes one SACK padded
// to a multiple of 4 bytes, so without this the state machine never sees
// what Parse accepts from other implementations (libtorrent has sent
// 1-byte masks).
func (f *fuzzState) deliverExtensions() {
	h, payload := f.structured()
	h.SACK = nil
	b := h.Append(nil)
	next := 1 // where the type of the next extension goes: b[1] first
	for i := range 1 + int(f.byte()%4) {
		ctl := f.byte()
		typ := fuzzExtTypes[ctl%8]
		if i == 0 && typ > 3 {
			typ = 1 + ctl%3 // a first extension of 4 or more is not uTP at all
		}
		l := int(f.byte())
		if typ == 1 {
			l = 1 + l%252
		}
		b[next] = typ
		b = append(b, 0, byte(l))
		next = len(b) - 2
		seed := f.byte()
		for j := range l {
			if ctl&0x10 != 0 {
				b = append(b, 0xff) // everything acknowledged
			} else {
				b = append(b, seed^byte(j*37))
			}
		}
		if ctl&0xe0 == 0xe0 {
			// Cut the chain short: it claims more bytes than follow.
			b = b[:len(b)-1-int(seed)%(l+2)]
			payload = nil
			break
		}
	}
	b = append(b, payload...)
	if !f.c.Confirmed() {
		// The budget counts every datagram from the dialer, whatever
		// its extensions (amplify.go).
		f.unprovenIn += len(b)
	}
	f.c.HandlePacket(f.now, b)
}

func (f *fuzzState) deliver(h wire.Header, payload []byte) {
	b := append(h.Append(nil), payload...)
	want, echoOK := f.expectAdmit(h), f.echoAllowed(h)
	echoes := f.c.stats.DuplicateEchoes
	before := fingerprint(f.c)
	restarts := f.c.timeWaitRestarts
	wasOpen, wasProven := !f.c.Closed(), f.c.Confirmed()
	if !wasProven {
		f.unprovenIn += len(b)
	}
	f.c.HandlePacket(f.now, b)
	after := fingerprint(f.c)
	if f.c.timeWaitRestarts == restarts+1 {
		// A duplicate in TIME-WAIT restarts it, by design and a bounded
		// number of times (restartTimeWait): the one change allowed to a
		// packet the rules otherwise ignore.
		after.timers[timerTimeWait] = before.timers[timerTimeWait]
	}
	switch {
	case f.bad != "":
	case f.c.timeWaitRestarts > maxTimeWaitRestarts:
		f.bad = fmt.Sprintf("TIME-WAIT restarted %d times, more than %d", f.c.timeWaitRestarts, maxTimeWaitRestarts)
	case !want && after != before && wasOpen && !f.c.Closed():
		f.bad = fmt.Sprintf("%v seq=%d ack=%d outside the acceptance rules moved the state:\n%+v\n%+v", h.Type, h.SeqNr, h.AckNr, before, after)
	case !want && wasOpen && f.c.Closed():
		f.bad = fmt.Sprintf("%v seq=%d ack=%d outside the acceptance rules closed the connection", h.Type, h.SeqNr, h.AckNr)
	case f.c.stats.DuplicateEchoes > echoes && !echoOK:
		f.bad = fmt.Sprintf("%v seq=%d ack=%d proved an original delivered by its echo outside the rule", h.Type, h.SeqNr, h.AckNr)
	case !wasProven && f.c.Confirmed() && h.AckNr != f.ourISN-1 && h.AckNr != f.ourISN:
		f.bad = fmt.Sprintf("ack_nr %d proved the acceptor; only %d and %d echo its isn", h.AckNr, f.ourISN-1, f.ourISN)
	}
}

// expectAdmit restates the acceptance rules of accept.go from the
// Conn's state before h arrives: whether h may change anything at all.
// It is written apart from the code it checks.
func (f *fuzzState) expectAdmit(h wire.Header) bool {
	c := f.c
	if c.Closed() || h.ConnID != c.RecvID() && h.Type != wire.Syn && h.Type != wire.Reset {
		return true // the Socket routes by id; a Conn is only given its own
	}
	s := &c.snd
	inRange := func(x, lo, hi uint16) bool { return uint16(x-lo) <= uint16(hi-lo) }
	ackLo := s.una - 4 - uint16(s.inUse())
	if s.unconfirmed {
		ackLo = f.ourISN - 1
	}
	ackOK := inRange(h.AckNr, ackLo, s.seqNr-1)
	switch h.Type {
	case wire.Syn:
		return true // a duplicate SYN gets the saved reply
	case wire.Reset:
		if c.state == stateSynSent {
			return h.AckNr == s.una
		}
		want := s.seqNr
		if s.unconfirmed {
			want = f.ourISN
		} else if f.now.Before(c.challengeUntil) {
			want = c.challengeAck
		}
		return h.AckNr == want || (ackOK && h.SeqNr == c.rcv.ackNr+1)
	}
	if c.state == stateSynSent {
		return h.AckNr == s.una
	}
	if h.Type != wire.State && c.rcv.gotFin && int16(h.SeqNr-c.rcv.eofSeq) > 0 {
		return false // nothing comes after the peer's FIN
	}
	d := int(int16(h.SeqNr - c.rcv.ackNr - 1))
	if s.unconfirmed && d < 0 && h.Type != wire.State {
		// Unproven, a duplicate changes something only as the proof: a
		// dialer's question carries the SYN's seq_nr (proveByDuplicate).
		return ackOK && h.SeqNr == c.rcv.ackNr
	}
	if d < 0 && h.Type != wire.State && c.state == stateConnected && inRange(h.AckNr, s.una, s.seqNr-1) {
		return d >= -c.cfg.MaxReorder // a duplicate's ack_nr that advances (takeDuplicateAck)
	}
	return ackOK && d >= 0 && d < c.cfg.MaxReorder
}

// echoAllowed restates when a packet may prove an original delivered by
// its duplicate's echo (dupecho.go): an ack_nr that does not advance, on
// the peer's next packet in order.
func (f *fuzzState) echoAllowed(h wire.Header) bool {
	c := f.c
	return int16(h.AckNr-(c.snd.una-1)) <= 0 && h.SeqNr == c.rcv.ackNr+1
}

// drain collects every output, as the IO layer does after each input.
func (f *fuzzState) drain() {
	for range 1000 {
		n, ok := f.c.PollTransmit(f.now, f.buf[:])
		if !ok {
			break
		}
		h, _, err := wire.Parse(f.buf[:n])
		if err != nil {
			f.bad = "Conn sent an unparseable packet: " + err.Error()
			return
		}
		if (h.Type == wire.Data || h.Type == wire.Fin) && wire.SeqLess(f.sentSeq, h.SeqNr) {
			f.sentSeq = h.SeqNr
		}
		if !f.c.Confirmed() {
			// amplify.go: only the SYN reply and the empty proof request,
			// within 3 times what came in.
			f.unprovenOut += n
			if (h.Type != wire.State && (h.Type != wire.Data || n > h.Len())) || f.unprovenOut > amplificationFactor*f.unprovenIn {
				f.bad = fmt.Sprintf("unproven acceptor sent %v (%d bytes sent, %d received)", h.Type, f.unprovenOut, f.unprovenIn)
				return
			}
		}
	}
	for range 10 {
		if f.c.NextEvent().Kind == EventNone {
			break
		}
	}
}

// check tests the invariants of the design: read bytes are a prefix of the
// peer's stream, NextDeadline is zero or not in the past, buffers stay in
// bounds, and a HandleTimeout before the deadline changes nothing.
func (f *fuzzState) check() {
	if f.bad != "" {
		return
	}
	for i, b := range f.read {
		if b != fuzzPeerByte(i) {
			f.bad = "read bytes are not a prefix of the peer's stream"
			return
		}
	}
	c := f.c
	if d := c.NextDeadline(); !d.IsZero() && d.Before(f.now) {
		f.bad = "NextDeadline is in the past"
		return
	}
	if why := deadlineMismatch(c); why != "" {
		f.bad = why
		return
	}
	if c.rcv.ring.len()+c.rcv.reorderBytes > c.cfg.RecvBufferSize+c.cfg.PacketSize || c.snd.ring.len() > c.cfg.SendBufferSize {
		f.bad = "a buffer exceeds its bound"
		return
	}
	if c.snd.flight < 0 || c.snd.lostN < 0 || c.rcv.reorderN < 0 || c.rcv.reorderBytes < 0 {
		f.bad = "negative accounting"
		return
	}
	if d := c.NextDeadline(); !d.IsZero() && f.now.Before(d) {
		c.HandleTimeout(f.now)
		if _, ok := c.PollTransmit(f.now, f.buf[:]); ok {
			f.bad = "HandleTimeout before the deadline produced a packet"
		} else if ev := c.NextEvent(); ev.Kind != EventNone {
			f.bad = "HandleTimeout before the deadline produced an event"
		}
	}
}

// FuzzConn drives the state machine with operations decoded from bytes and
// checks its invariants after every step (the fuzzing layer of docs/architecture.md).
func FuzzConn(f *testing.F) {
	f.Add(fuzzExtensionsSeed)
	f.Add([]byte{0, 0, 2, 0, 0, 0, 0, 0, 5, 10, 6, 200, 4, 3, 1, 0})
	f.Add([]byte{1, 0, 0, 1, 2, 3, 1, 1, 0, 0, 0, 2, 0, 5, 60, 7, 1, 4, 4, 4})
	f.Add(bytes.Repeat([]byte{0, 0, 9, 9, 40, 1, 2, 5, 30}, 20))
	f.Add(bytes.Repeat([]byte{1, 6, 255, 4, 3, 0, 1}, 30))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bad := fuzzRun(data); bad != "" {
			t.Fatal(bad)
		}
	})
}

// fuzzExtensionsSeed is a dialer that writes 200 bytes (its initial
// window sends one packet after the handshake's empty DATA) and then
// receives, through deliverExtensions, STATEs acking the SYN (a hole at
// the empty DATA) with extension chains the encoder never writes.
var fuzzExtensionsSeed = []byte{
	0,      // dialer
	6, 200, // Write 200 bytes
	// A 3-byte SACK (0xff, 0xda, 0xb5) acknowledging the data packet, then
	// libutp's 8 bytes of extension bits.
	8, 2, 0, 0, 200, 0, 2, 1, 0, 2, 0xff, 3, 8, 5,
	// One 252-byte SACK, every bit set.
	8, 2, 0, 0, 200, 0, 2, 0, 0x10, 251, 0,
	// libtorrent's close reason first (4 bytes), an unknown type 9 of 4
	// bytes, then a 41-byte SACK cut short by 4 bytes.
	8, 2, 0, 0, 200, 0, 2, 2, 4, 4, 2, 6, 4, 7, 0xe0, 40, 3,
	4,     // advance to the retransmission timer
	5, 63, // Read
}

// TestFuzzExtensionsReachConn checks that deliverExtensions gives the Conn
// what it means to: chains the encoder never writes, accepted, with a SACK
// whose length is not a multiple of 4 applied; a chain cut short is
// counted as malformed.
func TestFuzzExtensionsReachConn(t *testing.T) {
	f := newFuzzRun(fuzzExtensionsSeed)
	before := f.c.Stats()
	for _, step := range []string{"write", "3-byte SACK", "252-byte SACK", "truncated chain"} {
		f.step()
		f.drain()
		f.check()
		if f.bad != "" {
			t.Fatalf("%s: %s", step, f.bad)
		}
		if s := &f.c.snd; step == "3-byte SACK" && (s.inUse() < 2 || s.pkt(s.una).sacked || !s.pkt(s.una+1).sacked) {
			// How many more the window let out depends on the controller's
			// loss response (LEDBAT++ takes a loss with no queue for random).
			t.Fatalf("after the 3-byte SACK: %d packets outstanding, SACKed %v %v; want 2 or more, the second SACKed",
				s.inUse(), s.pkt(s.una).sacked, s.pkt(s.una+1).sacked)
		}
	}
	st := f.c.Stats()
	if got := st.PacketsReceived - before.PacketsReceived; got != 2 {
		t.Errorf("the Conn took %d of the packets with odd extension chains, want 2", got)
	}
	if got := st.PacketsMalformed - before.PacketsMalformed; got != 1 {
		t.Errorf("%d malformed, want 1 (the chain cut short)", got)
	}
	if bad := f.run(); bad != "" {
		t.Fatal(bad)
	}
}
