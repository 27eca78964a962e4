package proto

import (
	"bytes"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// timeWaitConn is a dialer that wrote "req" and closed first, then read
// the peer's "resp" (not yet read) and FIN, and is now in TIME-WAIT with
// TIME-WAIT's end as its only deadline (TestScriptCloseWeCloseFirstTimeWait).
func timeWaitConn(t *testing.T) *testConn {
	tc := newTestConn(t, roleDialer)
	tc.write("req")
	tc.closeWrite()
	tc.takeAll()
	tc.peerAck(tc.s(1))
	tc.peerData(tc.p(0), "resp")
	tc.peerFin(tc.p(1))
	tc.wantPacket("their FIN acked", pkt{typ: wire.State, ack: u16(tc.p(1))})
	tc.wantOpen("TIME-WAIT")
	tc.events = nil
	return tc
}

// Retire ends a connection in TIME-WAIT cleanly, leaving its unread data
// readable, and refuses one that is not there yet.
func TestRetireTimeWait(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	if _, ok := tc.conn.Retire(); ok {
		t.Fatal("retired an open connection")
	}
	tc = timeWaitConn(t)
	end := tc.conn.TimeWaitEnd()
	w, ok := tc.conn.Retire()
	if !ok {
		t.Fatal("a connection in TIME-WAIT was not retired")
	}
	tc.finish("Retire")
	tc.wantClosed("retired", nil)
	if !w.End().Equal(end) || w.SendID() != tc.conn.SendID() {
		t.Fatalf("retired: end %v, send id %d; want %v and %d", w.End(), w.SendID(), end, tc.conn.SendID())
	}
	tc.wantRead("unread data after Retire", "resp")
	tc.wantEOF("then EOF")
	tc.wantIdle("a retired connection sends nothing")
	if _, ok := tc.conn.Retire(); ok {
		t.Fatal("retired twice")
	}
}

// A TimeWait answers every packet as the Conn it was retired from would
// have in TIME-WAIT: for every ack_nr with the seq_nr values where the
// answer changes, and every seq_nr with acceptable and unacceptable
// ack_nr values, of each type, it sends the same ACK (byte for byte),
// ends on the same RESETs and moves its end the same way. The one
// deliberate difference: a RESET the Conn answers with a challenge is
// ignored. (A DATA or FIN past the peer's FIN, which the Conn used to
// acknowledge, both ignore now: accept.go.)
func TestTimeWaitAnswersAsConn(t *testing.T) {
	tc := timeWaitConn(t)
	c := tc.conn
	c.SetWindowLimit(0)
	retired := cloneConn(c, nil)
	w0, ok := retired.Retire()
	if !ok {
		t.Fatal("not retired")
	}
	fin := c.rcv.ackNr
	last := c.snd.seqNr - 1
	now := tc.now.Add(3 * time.Second)
	buf := make([]byte, c.MaxDatagram())
	twBuf := make([]byte, wire.HeaderSize)
	var acked, ended int
	try := func(h wire.Header) {
		t.Helper()
		d := cloneConn(c, nil)
		before := d.stats
		d.HandleParsed(now, &h, nil)
		var sent [][]byte
		for {
			n, ok := d.PollTransmit(now, buf)
			if !ok {
				break
			}
			sent = append(sent, append([]byte(nil), buf[:n]...))
		}
		challenged := d.stats.ResetsChallenged > before.ResetsChallenged
		w := w0
		n, end := w.HandlePacket(now, &h, twBuf)
		what := func() string { return h.Type.String() + " seq=" + itoa(h.SeqNr) + " ack=" + itoa(h.AckNr) }
		switch {
		case end != d.Closed():
			t.Fatalf("%s: TimeWait ends %v, Conn closed %v", what(), end, d.Closed())
		case challenged:
			if n != 0 {
				t.Fatalf("%s: the TimeWait sent %d bytes", what(), n)
			}
		case len(sent) != min(n, 1):
			t.Fatalf("%s: Conn sent %d packets, TimeWait %d bytes", what(), len(sent), n)
		case n > 0 && !bytes.Equal(sent[0], twBuf[:n]):
			t.Fatalf("%s: ACKs differ:\nConn     %x\nTimeWait %x", what(), sent[0], twBuf[:n])
		case !end && !w.End().Equal(d.TimeWaitEnd()):
			t.Fatalf("%s: TIME-WAIT ends %v after, Conn %v", what(), w.End().Sub(now), d.TimeWaitEnd().Sub(now))
		}
		acked += min(n, 1)
		if end {
			ended++
		}
	}
	for _, typ := range []wire.Type{wire.Data, wire.Fin, wire.State, wire.Reset} {
		for a := range 1 << 16 {
			for _, s := range []uint16{fin, fin + 1} {
				try(tc.peerHeader(typ, s, uint16(a)))
			}
		}
		for s := range 1 << 16 {
			for _, a := range []uint16{last, last - ackNrAllowedWindow - 1, c.snd.seqNr} {
				try(tc.peerHeader(typ, uint16(s), a))
			}
		}
	}
	// Duplicates of DATA and FIN (dupWindow seq_nr values, each with 4
	// acceptable ack_nr values, some tried twice) and exact RESETs.
	if acked < 2*dupWindow || ended == 0 {
		t.Fatalf("%d packets acknowledged, %d ended TIME-WAIT: the sweep missed the cases that act", acked, ended)
	}
	syn := tc.peerHeader(wire.Syn, 7, 0)
	if w := w0; func() bool { _, end := w.HandlePacket(now, &syn, twBuf); return !end }() {
		t.Fatal("a SYN did not end TIME-WAIT")
	}
}

func itoa(v uint16) string {
	var b [5]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// A forger who knows the connection id restarts a TimeWait's end with
// copies of the peer's FIN at most maxTimeWaitRestarts times, as it could
// the Conn's (TestScriptCloseTimeWaitRestartsBounded); each copy is
// acknowledged.
func TestTimeWaitRestartsBounded(t *testing.T) {
	tc := timeWaitConn(t)
	w, _ := tc.conn.Retire()
	length := tc.conn.timeWaitLen()
	now := tc.now
	buf := make([]byte, wire.HeaderSize)
	fin := tc.peerHeader(wire.Fin, tc.p(1), tc.s(1))
	var restarted time.Time
	for i := range maxTimeWaitRestarts + 2 {
		now = now.Add(length / 2)
		n, end := w.HandlePacket(now, &fin, buf)
		if n == 0 || end {
			t.Fatalf("copy %d of the FIN: %d bytes sent, end %v; want an ACK", i+1, n, end)
		}
		want := now.Add(length)
		if i < maxTimeWaitRestarts {
			restarted = want
		} else {
			want = restarted // no longer moves
		}
		if !w.End().Equal(want) {
			t.Fatalf("copy %d of the FIN: ends %v later, want %v", i+1, w.End().Sub(now), want.Sub(now))
		}
	}
}
