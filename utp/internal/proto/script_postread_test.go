package proto

import (
	"testing"

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
