package utp

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// With small packets on loopback, Linux segments our sends and coalesces
// our reads; the data still arrives intact, and the receiver answers each
// coalesced read with one acknowledgement instead of one for every second
// packet.
func TestUDPOffloadSmallPackets(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t, WithPacketSize(1200)), listenUDP(t, WithPacketSize(1200))
	const size = 16 << 20
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		sum   [32]byte
		stats Stats
		err   error
	}
	got := make(chan result, 1)
	go func() {
		c, err := b.AcceptUTP()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		h := sha256.New()
		_, err = io.Copy(h, c)
		got <- result{[32]byte(h.Sum(nil)), c.Stats(), err}
	}()
	c, err := a.DialUTP(ctx, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.sum != sha256.Sum256(data) {
		t.Fatal("data differs")
	}
	sa, sb := a.Stats(), b.Stats()
	t.Logf("sender %+v; receiver %+v; receiving conn %d packets in, %d out", sa, sb, r.stats.PacketsReceived, r.stats.PacketsSent)
	if sa.SegmentedSends == 0 || sb.CoalescedReads == 0 {
		t.Errorf("segmented sends %d, coalesced reads %d: want both above 0", sa.SegmentedSends, sb.CoalescedReads)
	}
	if r.stats.PacketsSent*4 > r.stats.PacketsReceived {
		t.Errorf("receiver sent %d packets for %d received: coalesced reads are not acknowledged as one", r.stats.PacketsSent, r.stats.PacketsReceived)
	}
}
