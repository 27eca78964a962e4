package proto

import (
	"strings"
	"testing"
	"time"
)

// The send-limit counters (sendlimit.go) charge each span to the cause
// that held the sender through it, when the cause changes: a full window
// with data waiting, then nothing waiting (a full window with everything
// written already sent is the writer's limit, not the window's).
func TestScriptSendLimitCounters(t *testing.T) {
	const window = 10 * (1000 + 20)
	tc := newTestConn(t, roleDialer, withWindow(window), withConfig(func(c *Config) { c.PacketSize = 1000 }))
	tc.write(strings.Repeat("a", 20000)) // 20 packets, 10 in the window
	tc.takeAll()
	start := tc.conn.Stats()
	tc.advance(30 * time.Millisecond)
	tc.peerAck(tc.s(9)) // the last 10 go: nothing waits
	if n := len(tc.takeAll()); n != 10 {
		t.Fatalf("%d packets after the first ACK, want 10", n)
	}
	tc.advance(20 * time.Millisecond)
	tc.peerAck(tc.s(19))
	tc.advance(100 * time.Millisecond)
	tc.write(strings.Repeat("b", 20000)) // the window is full again
	tc.takeAll()
	st := tc.conn.Stats()
	if d := st.WindowLimited - start.WindowLimited; d != 30*time.Millisecond {
		t.Errorf("WindowLimited grew by %v, want 30ms", d)
	}
	if d := st.AppLimited - start.AppLimited; d != 120*time.Millisecond {
		t.Errorf("AppLimited grew by %v, want 120ms", d)
	}
	if st.PacingLimited != 0 || st.PeerLimited != 0 {
		t.Errorf("PacingLimited %v, PeerLimited %v, want 0 (scripts do not pace; the peer's window is large)", st.PacingLimited, st.PeerLimited)
	}
}
