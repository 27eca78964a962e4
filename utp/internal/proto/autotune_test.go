package proto

import (
	"strings"
	"testing"
	"time"
)

// Issue 17 and issue 12: a peer cannot make us hold more than its data
// justifies. Flooding a connection whose reader does not read meets the
// starting buffer and is dropped past it; the buffer grows only when a
// whole buffer arrives within about a round trip plus the delay target
// and the reader keeps up (autotune.go), not when the same bytes trickle
// in, and it goes back to the start when the connection idles.
func TestRecvBufferGrowsOnlyByReads(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	start := tc.conn.rcv.ring.limit
	if start != initialRecvSpace {
		t.Fatalf("a new connection's receive buffer is %d bytes, want %d", start, initialRecvSpace)
	}
	size := tc.conn.cfg.PacketSize
	chunk := strings.Repeat("z", size)
	perBuffer := start / size
	seq := 0
	send := func(n int, gap time.Duration, read bool) {
		for range n {
			tc.peerData(tc.p(seq), chunk)
			seq++
			if read {
				tc.read()
			}
			tc.takeAll()
			tc.advance(gap)
		}
	}

	// Twice the buffer at once, nobody reading.
	send(2*perBuffer, 0, false)
	st := tc.conn.Stats()
	if tc.conn.rcv.ring.limit != start || st.DroppedNoRoom == 0 {
		t.Fatalf("flood without reads: buffer %d bytes (started at %d), %d packets dropped", tc.conn.rcv.ring.limit, start, st.DroppedNoRoom)
	}
	if held := tc.conn.heldBytes(); held > start+(64<<10) {
		t.Fatalf("flood without reads: %d bytes held, buffer %d", held, start)
	}
	tc.read()
	seq = int(tc.conn.rcv.ackNr-tc.p(0)) + 1 // resend from the first dropped

	// Three buffers read as they arrive, 1 ms apart: a buffer takes 3 s,
	// longer than the dialer's 50 ms round trip and the delay target.
	send(3*perBuffer, time.Millisecond, true)
	if got := tc.conn.rcv.ring.limit; got != start {
		t.Fatalf("a reader taking %d bytes/s grew the buffer to %d bytes", size*1000, got)
	}

	// The same, with no time between packets: the buffer doubles.
	send(2*perBuffer, 0, true)
	if got := tc.conn.rcv.ring.limit; got != 2*start {
		t.Fatalf("a reader consuming a buffer in no time: buffer %d bytes, want %d", got, 2*start)
	}
	if w := tc.conn.rcv.window(); w <= start {
		t.Fatalf("advertised window %d after growth, want above %d", w, start)
	}

	// Idle: back to the start.
	tc.advance(3 * idleShrinkAfter)
	tc.advanceToTimer()
	if got := tc.conn.rcv.ring.limit; got != start {
		t.Fatalf("idle: buffer %d bytes, want the starting %d", got, start)
	}
}

// GrownRecvSpace reports a grown receive buffer only on a long path
// whose peer filled the window limit in the last measurement: the
// shortest round trip the timestamps showed is shortPathRTT or more. A
// buffer grown where that round trip is shorter (queues lengthened the
// others), or unknown, or whose peer did not fill the limit, or a buffer
// at its start, asks for nothing.
func TestGrownRecvSpaceOnlyOnLongPaths(t *testing.T) {
	for _, c := range []struct {
		limit  int
		least  time.Duration
		filled bool
		want   int
	}{
		{initialRecvSpace, 100 * time.Millisecond, true, 0},
		{16 << 20, 100 * time.Millisecond, true, 16 << 20},
		{16 << 20, 100 * time.Millisecond, false, 0},
		{16 << 20, shortPathRTT, true, 16 << 20},
		{16 << 20, shortPathRTT - time.Microsecond, true, 0},
		{16 << 20, 50 * time.Microsecond, true, 0},
		{16 << 20, 0, true, 0},
	} {
		tc := newTestConn(t, roleDialer)
		tc.conn.rcv.ring.limit, tc.conn.rcv.tune.least, tc.conn.rcv.tune.filled = c.limit, c.least, c.filled
		if got := tc.conn.GrownRecvSpace(); got != c.want {
			t.Errorf("buffer %d, least round trip %v, limit filled %v: GrownRecvSpace %d, want %d", c.limit, c.least, c.filled, got, c.want)
		}
	}
}
