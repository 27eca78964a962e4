package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// A connection in TIME-WAIT has finished: both FINs are acknowledged, and
// it waits only to acknowledge the peer's FIN again should the peer not
// have our ACK of it. A Socket that churns short connections holds
// thousands of them (16 s each), and keeping each whole (the Conn, its
// tables and its IO layer's channels, a few KiB a side) grew the heap
// that every new connection was then built in: fresh pages to fault in
// and zero, and more for the GC to scan. So the IO layer may retire such
// a connection (Retire) into a TimeWait, a few dozen bytes that answer
// what TIME-WAIT must answer, and let the Conn go.

// TimeWait is a connection retired in TIME-WAIT: what it needs to
// acknowledge the peer's FIN again and to recognise a RESET that ends it.
// It is a value; the IO layer keeps it in its table in place of the Conn.
type TimeWait struct {
	end        time.Time     // when TIME-WAIT ends
	length     time.Duration // how long a restart lasts (timeWaitLen)
	replyMicro uint32        // timestamp_difference our ACKs echo
	stampOff   uint32        // Config.TimestampOffset
	wnd        uint32        // the window our ACKs advertise
	sendID     uint16        // connection_id of our packets
	seqNr      uint16        // our next sequence number: our ACKs carry it
	ackNr      uint16        // the peer's FIN: what our ACKs acknowledge
	restarts   uint8         // restarts so far (restartTimeWait)
}

// Retire ends a connection that is in TIME-WAIT with nothing else left to
// do (TIME-WAIT's end is its only deadline, NextDeadline) and returns what
// answers for it until that end. The Conn closes cleanly at once
// (EventClosed, no error), as it would at the end of TIME-WAIT: data not
// yet read stays readable, then Read returns io.EOF. It reports false,
// changing nothing, for a connection that is not in that state.
func (c *Conn) Retire() (TimeWait, bool) {
	end := c.TimeWaitEnd()
	if end.IsZero() || !c.NextDeadline().Equal(end) {
		return TimeWait{}, false
	}
	w := TimeWait{
		end:        end,
		length:     c.timeWaitLen(),
		replyMicro: c.replyMicro,
		stampOff:   c.cfg.TimestampOffset,
		wnd:        uint32(c.rcv.window()),
		sendID:     c.sendID,
		seqNr:      c.snd.seqNr,
		ackNr:      c.rcv.ackNr,
		restarts:   c.timeWaitRestarts,
	}
	c.fail(nil)
	return w, true
}

// End returns when TIME-WAIT ends: the IO layer forgets the TimeWait then.
func (w *TimeWait) End() time.Time { return w.end }

// SendID is the connection id the retired connection put on its packets;
// a RESET may be addressed with it (libutp).
func (w *TimeWait) SendID() uint16 { return w.sendID }

// HandlePacket applies one packet addressed to the retired connection. It
// writes into buf, and returns its length n > 0, an ACK to send to the
// peer, and reports end when the packet ends TIME-WAIT: the IO layer then
// forgets the TimeWait. buf must hold wire.HeaderSize bytes.
//
// The rules are the Conn's in TIME-WAIT (accept.go), where everything we
// sent is acknowledged and the peer's FIN is the last thing received:
//   - a DATA or FIN at most dupWindow behind the peer's FIN, with an
//     ack_nr in ackRange, is a retransmission whose ACK was lost: it is
//     acknowledged again, and restarts TIME-WAIT (restartTimeWait, at
//     most maxTimeWaitRestarts times);
//   - a RESET that matches exactly (matchReset) ends TIME-WAIT: the peer
//     no longer has the connection;
//   - a SYN ends it too: the IO layer takes it for a new connection that
//     reuses the id, as RFC 6191 lets a SYN reopen TCP's TIME-WAIT;
//   - anything else is ignored.
//
// Where the Conn would answer, a TimeWait ignores one kind of packet: a
// RESET that only might be genuine, which the Conn challenges (a
// keepalive STATE, RFC 5961 3.2), since in TIME-WAIT nothing is lost by
// waiting the end out, and a forger gets no packet sent for its one. A
// DATA or FIN past the peer's FIN both ignore whole (accept.go).
func (w *TimeWait) HandlePacket(now time.Time, h *wire.Header, buf []byte) (n int, end bool) {
	switch h.Type {
	case wire.Syn:
		return 0, true
	case wire.Reset:
		return 0, w.resetMatches(h)
	}
	if !w.ackAcceptable(h.AckNr) || h.Type == wire.State {
		return 0, false
	}
	d := wire.SeqDiff(h.SeqNr, w.ackNr+1)
	if d >= 0 || d < -dupWindow {
		return 0, false
	}
	if w.restarts < maxTimeWaitRestarts {
		w.restarts++
		w.end = now.Add(w.length)
	}
	ts, diff := micros(now)+w.stampOff, w.replyMicro
	if h.Timestamp != 0 {
		diff = ts - h.Timestamp // echo the duplicate exactly, as a Conn does (dupecho.go)
	}
	ack := wire.Header{
		Type:          wire.State,
		ConnID:        w.sendID,
		Timestamp:     ts,
		TimestampDiff: diff,
		WndSize:       w.wnd,
		SeqNr:         w.seqNr,
		AckNr:         w.ackNr,
	}
	return ack.Put(buf), false
}

// ackAcceptable is Conn.ackAcceptable with nothing in flight: the ack_nr
// of our last packet, or up to ackNrAllowedWindow behind it.
func (w *TimeWait) ackAcceptable(ack uint16) bool {
	lo := w.seqNr - 1 - ackNrAllowedWindow
	return ack-lo <= ackNrAllowedWindow
}

// resetMatches is matchReset's exact match in TIME-WAIT: the RESET echoes
// the seq_nr our ACKs carry, or it carries the peer's next sequence
// number (one past its FIN) with an acceptable ack_nr.
func (w *TimeWait) resetMatches(h *wire.Header) bool {
	return h.AckNr == w.seqNr || (h.SeqNr == w.ackNr+1 && w.ackAcceptable(h.AckNr))
}
