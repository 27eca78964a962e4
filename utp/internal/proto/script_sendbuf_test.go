package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// Write buffers about twice what the window lets into flight (plus a
// packet), not the whole SendBufferSize: bytes beyond that would only
// wait, in memory that a fast path pays to touch. The bound follows the
// window, and never falls below minSendLimit. Linux sizes TCP's send
// buffer alike (tcp_sndbuf_expand).
func TestScriptSendBufferFollowsWindow(t *testing.T) {
	const window, packet = 200 << 10, 1000
	tc := newTestConn(t, roleDialer, withWindow(window), withConfig(func(c *Config) {
		c.SendBufferSize = 4 << 20
		c.PacketSize = packet
	}))
	big := make([]byte, 4<<20)
	n, err := tc.conn.Write(tc.now, big)
	if err != nil {
		t.Fatal(err)
	}
	want := 2*window + packet + 20
	if n != want {
		t.Fatalf("Write took %d bytes with a %d-byte window, want %d", n, window, want)
	}
	tc.finish("Write")

	small := newTestConn(t, roleDialer, withWindow(1000), withConfig(func(c *Config) { c.SendBufferSize = 4 << 20 }))
	if n, _ := small.conn.Write(small.now, big); n != minSendLimit {
		t.Fatalf("Write took %d bytes with a tiny window, want the floor %d", n, minSendLimit)
	}
	small.finish("Write")

	capped := newTestConn(t, roleDialer, withWindow(window), withConfig(func(c *Config) { c.SendBufferSize = 100 << 10 }))
	if n, _ := capped.conn.Write(capped.now, big); n != 100<<10 {
		t.Fatalf("Write took %d bytes, want SendBufferSize %d", n, 100<<10)
	}
	capped.finish("Write")
}

// When the window grows, Write may buffer more: the bound is taken anew
// at every Write, and the acknowledgement that grew the window released
// data, which raises EventWritable for a blocked writer.
func TestScriptSendBufferGrowsWithWindow(t *testing.T) {
	ctrl := &fixedWindow{wnd: 100 << 10}
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) {
		c.SendBufferSize = 4 << 20
		c.PacketSize = 1000
		c.NewController = func(time.Time, int) cc.Controller { return ctrl }
	}))
	big := make([]byte, 4<<20)
	tc.conn.Write(tc.now, big)
	tc.finish("Write")
	sent := tc.takeAll()
	if n, _ := tc.conn.Write(tc.now, big); n != 0 {
		t.Fatalf("a second Write took %d bytes past the bound", n)
	}
	ctrl.wnd = 1 << 20
	tc.wantNoEvent("nothing acknowledged yet", EventWritable)
	tc.advance(50 * time.Millisecond) // a long path: the short one's bound would cap the buffer at 1 MiB
	tc.peerAck(sent[0].h.SeqNr)
	tc.wantEvent("the window grew", EventWritable)
	tc.conn.Write(tc.now, big)
	// Twice the window and a packet would be just past 2 MiB, a ring of
	// 4 MiB: the bound stops at 2 MiB (sendLimit).
	if got, want := tc.conn.Buffered(), 2<<20; got != want {
		t.Fatalf("after the window grew to 1 MiB the buffer holds %d bytes, want %d", got, want)
	}
}

// On a long path the send buffer follows the window past 4 MiB, up to
// SendBufferSize (a 1 Gbit/s path at 20 ms needs more than 4 MiB in
// flight); on a short one, or before any round trip is measured, it
// stops at shortPathSendLimit (1 MiB at this round trip), where a larger
// window only queues in the kernel's buffers (send.go).
func TestScriptSendBufferShortPathBound(t *testing.T) {
	const window = 8 << 20
	cfg := withConfig(func(c *Config) { c.SendBufferSize = 32 << 20; c.PacketSize = 1000 })
	peer := func(tc *testConn) { tc.peerWnd = 32 << 20 }
	big := make([]byte, 32<<20)

	long := newTestConn(t, roleDialer, withWindow(window), cfg, peer) // 50 ms round trips
	if n, _ := long.conn.Write(long.now, big); n != 2*window {
		t.Fatalf("a path with MinRTT %v: Write took %d bytes with an 8 MiB window, want %d (twice the window)", long.conn.rtt.MinRTT(), n, 2*window)
	}
	long.finish("Write")

	short := newTestConn(t, roleAcceptor, withWindow(window), cfg, peer)
	short.write("x")
	short.advance(100 * time.Microsecond)
	short.peerAck(short.s(0))
	if rtt := short.conn.rtt.MinRTT(); rtt <= 0 || rtt >= shortPathRTT {
		t.Fatalf("MinRTT %v, want a short path's", rtt)
	}
	if n, _ := short.conn.Write(short.now, big); n != 1<<20 {
		t.Fatalf("a path with MinRTT %v: Write took %d bytes, want 1 MiB", short.conn.rtt.MinRTT(), n)
	}
	short.finish("Write")
}

// The short-path bound is a round trip's worth at shortPathRate (16
// Gbit/s) rounded up to a power of two, from 1 MiB to 4 MiB: it meets
// the long path's bound at shortPathRTT, and paths of tens of
// microseconds (veth, loopback) keep 1 MiB.
func TestShortPathSendLimit(t *testing.T) {
	for _, tt := range []struct {
		rtt  time.Duration
		want int
	}{
		{0, 1 << 20}, // not measured yet
		{30 * time.Microsecond, 1 << 20},
		{480 * time.Microsecond, 1 << 20},
		{500 * time.Microsecond, 2 << 20},
		{900 * time.Microsecond, 2 << 20},
		{time.Millisecond, 4 << 20},
		{1900 * time.Microsecond, 4 << 20},
		{shortPathRTT, 4 << 20},
		{time.Second, 4 << 20},
	} {
		if got := shortPathSendLimit(tt.rtt); got != tt.want {
			t.Errorf("shortPathSendLimit(%v) = %d, want %d", tt.rtt, got, tt.want)
		}
	}
}
