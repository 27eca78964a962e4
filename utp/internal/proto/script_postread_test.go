package proto

import (
	"fmt"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// A Read that found nothing posts its buffer (PostRead): in-order data
// then goes straight into it, in order, and only what does not fit goes
// to the receive buffer; data arriving while bytes wait in the receive
// buffer goes behind them, never into the posted buffer first.
func TestScriptPostRead(t *testing.T) {
	// Without the yielding receiver, whose early window (ten packets plus
	// twice the bytes received) would bound wnd_size below the buffer
	// this test checks.
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.NoYield = true }))
	post := make([]byte, 5)
	tc.conn.PostRead(post)
	tc.peerData(tc.p(0), "abc")
	tc.wantEvent("data placed in the posted buffer", EventReadable)
	tc.peerData(tc.p(1), "defgh")
	tc.takeAll()
	if n := tc.conn.TakePosted(); n != 5 || string(post) != "abcde" {
		t.Fatalf("posted buffer holds %d bytes %q, want 5 %q", n, post[:n], "abcde")
	}
	if n := tc.conn.TakePosted(); n != 0 {
		t.Fatalf("a second TakePosted returned %d", n)
	}
	tc.conn.PostRead(make([]byte, 8))
	tc.peerData(tc.p(2), "ij")
	if n := tc.conn.TakePosted(); n != 0 {
		t.Fatalf("%d bytes placed in the posted buffer while %q waited in the receive buffer", n, "fgh")
	}
	tc.wantRead("the rest, in order", "fghij")
	st := tc.conn.Stats()
	if st.BytesReceived != 10 || st.BytesRead != 10 {
		t.Fatalf("BytesReceived %d, BytesRead %d, want 10 and 10", st.BytesReceived, st.BytesRead)
	}
	tc.write("x")
	tc.wantPacket("the window counts only the receive buffer", pkt{typ: wire.Data, payload: "x", wnd: u32(uint32(tc.conn.rcv.ring.limit))})
}

// PostTail is where the next in-order bytes go in the posted buffer. A
// packet whose payload already lies there (read in place by the IO
// layer) is taken without a copy and counted in BytesInPlace; one that
// lies there but is not next in order is copied out (the next read
// reuses that memory), and arrives intact once the hole is filled; a
// packet elsewhere is copied in as before. With bytes waiting in the
// receive buffer, or nothing posted, there is no tail.
func TestScriptPostTailInPlace(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.NoYield = true }))
	if tail := tc.conn.PostTail(); tail != nil {
		t.Fatalf("PostTail with nothing posted: %d bytes, want nil", len(tail))
	}
	post := make([]byte, 16)
	tc.conn.PostRead(post)
	// inPlace delivers a packet as the IO layer does after reading its
	// payload into the tail: header parsed apart, payload at post[at:].
	inPlace := func(seq uint16, at int, payload string) {
		t.Helper()
		if tail := tc.conn.PostTail(); len(tail) != len(post)-at || &tail[0] != &post[at] {
			t.Fatalf("PostTail is %d bytes, want post[%d:]", len(tail), at)
		}
		copy(post[at:], payload)
		h := tc.peerHeader(wire.Data, seq, tc.peerAckNr)
		tc.notePeerSeq(seq)
		tc.conn.HandleParsed(tc.now, &h, post[at:at+len(payload)])
		tc.finish(fmt.Sprintf("DATA seq=%d read in place", seq))
	}
	inPlace(tc.p(0), 0, "abc")
	inPlace(tc.p(2), 3, "ghi") // ahead of a hole: held, copied out
	copy(post[3:], "XXXXXX")   // the next read reuses the tail
	inPlace(tc.p(1), 3, "def")
	tc.takeAll()
	st := tc.conn.Stats()
	if got := string(post[:tc.conn.Posted()]); got != "abcdefghi" {
		t.Fatalf("posted buffer holds %q, want %q", got, "abcdefghi")
	}
	if st.BytesInPlace != 6 || st.BytesRead != 9 {
		t.Fatalf("BytesInPlace %d, BytesRead %d; want 6 taken in place (the held packet copied) of 9", st.BytesInPlace, st.BytesRead)
	}
	tc.peerData(tc.p(3), "jk")
	if got := string(post[:tc.conn.Posted()]); got != "abcdefghijk" || tc.conn.Stats().BytesInPlace != 6 {
		t.Fatalf("posted buffer holds %q (in place %d), want %q copied in", got, tc.conn.Stats().BytesInPlace, "abcdefghijk")
	}
	tc.conn.TakePosted()
	tc.peerData(tc.p(4), "lm") // to the receive buffer: nothing posted
	tc.conn.PostRead(post)
	if tail := tc.conn.PostTail(); tail != nil {
		t.Fatalf("PostTail while %q waits in the receive buffer: %d bytes, want nil", "lm", len(tail))
	}
}

// Unread is what waits in the receive buffer. With nothing there, a Read
// returns nothing and leaves the connection as it was whatever its time:
// the IO layer then passes the last step's (utp's Conn.readTime) instead
// of reading the clock.
func TestScriptUnread(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.NoYield = true }))
	if n := tc.conn.Unread(); n != 0 {
		t.Fatalf("Unread before any data: %d", n)
	}
	before, stats := tc.conn.NextDeadline(), tc.conn.Stats()
	if n, err := tc.conn.Read(tc.now.Add(-time.Hour), tc.rbuf); n != 0 || err != nil {
		t.Fatalf("Read with nothing to read: %d, %v", n, err)
	}
	if got := tc.conn.NextDeadline(); !got.Equal(before) || tc.conn.Stats() != stats {
		t.Fatalf("a Read that returned nothing moved the next deadline from %v to %v, or the counters", before, got)
	}
	tc.peerData(tc.p(0), "abc")
	if n := tc.conn.Unread(); n != 3 {
		t.Fatalf("Unread after 3 bytes arrived: %d", n)
	}
	tc.wantRead("the bytes Unread counted", "abc")
	if n := tc.conn.Unread(); n != 0 {
		t.Fatalf("Unread after reading all: %d", n)
	}
}
