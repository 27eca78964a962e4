package utp

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// The receive-buffer share (share.go) counts only packets the state
// machine takes. A peer played over a plain UDP socket, which knows the
// connection id as an off-path forger who learned it would, sends 100
// DATA packets of 1,400 bytes outside the receive window: the state
// machine ignores them, and the connection must not count as receiving
// (before, 47 such packets made it count, halving every other receiver's
// window). Then 100 genuine ones make it count, and a FIN outside the
// window must not uncount it (before, it did at once).
func TestShareIgnoresForgedPackets(t *testing.T) {
	checkLeaks(t)
	s, peer := listenUDP(t), newRawPeer(t)
	if !s.share.on {
		t.Fatal("the UDP Socket shares no receive buffer: nothing to test")
	}
	c, _, _, ack, from := peer.dial(s, 7, 0)
	defer c.Close()
	payload := make([]byte, 1400)
	const forged = 0x8000 // half the sequence space away from the window
	send := func(typ wire.Type, seq uint16) {
		h := ack
		h.Type, h.SeqNr = typ, seq
		if _, err := peer.pc.WriteTo(append(h.Append(nil), payload...), from); err != nil {
			t.Fatal(err)
		}
	}
	// handled waits until the connection has received n packets in all.
	handled := func(n uint64, what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); c.Stats().PacketsReceived < n; {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d packets received of %d after 10 s", what, c.Stats().PacketsReceived, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// barriers counts the forged packets sent as barriers.
	barriers := uint16(0)
	// applied waits until the connection has received n packets and the
	// share has been told of them. The share hears of a read's packets
	// after the step that counts them in Stats, so n alone could be seen
	// before it (a FIN uncounted a moment after this test looked, under
	// -race on a loaded machine). Every read's packets are applied before
	// the next read (lead.go), so one more packet, sent after the n-th
	// was counted and seen as received, proves the n-th read applied;
	// it is forged, ignored, and so tells the share nothing.
	applied := func(n uint64, what string) uint64 {
		t.Helper()
		handled(n, what)
		send(wire.Data, ack.SeqNr+forged+200+barriers)
		barriers++
		handled(n+1, what+", then a barrier")
		return n + 1
	}
	n := c.Stats().PacketsReceived
	for i := range 100 {
		send(wire.Data, ack.SeqNr+forged+uint16(i))
	}
	n = applied(n+100, "forged DATA")
	if st := c.Stats(); st.PacketsIgnored < 100 {
		t.Fatalf("%d packets ignored, want the 100 forged", st.PacketsIgnored)
	}
	if c.shareCounted.Load() {
		t.Fatal("100 forged DATA packets the state machine ignored made the connection count as receiving")
	}
	for i := range 100 {
		send(wire.Data, ack.SeqNr+uint16(i))
		time.Sleep(100 * time.Microsecond) // within the kernel buffer, whatever the reader's pace
	}
	n = applied(n+100, "genuine DATA")
	if !c.shareCounted.Load() {
		t.Fatal("100 genuine DATA packets of 1,400 bytes did not make the connection count")
	}
	send(wire.Fin, ack.SeqNr+100+forged)
	n = applied(n+1, "forged FIN")
	if !c.shareCounted.Load() {
		t.Fatal("a FIN the state machine ignored uncounted a receiving connection")
	}
	send(wire.Fin, ack.SeqNr+100)
	applied(n+1, "genuine FIN")
	if c.shareCounted.Load() {
		t.Fatal("the peer's FIN did not uncount the connection")
	}
}
