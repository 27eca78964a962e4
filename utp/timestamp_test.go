package utp

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// Our timestamps do not show our clock: each connection's carry an
// offset keyed on the connection with the Socket's random seed
// (stampOffset), and a SYN answered statelessly during a flood carries
// the same offset as the connection its dialer's proof then builds, so
// the dialer sees no step in its delay samples.
func TestSimTimestampsHideClock(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit, delay = 8, 10 * time.Millisecond // simNet's links
		n, _, b := simNet(t, WithUnprovenLimit(limit))
		stamp := func(at time.Time) uint32 { return uint32(at.UnixMicro()) }
		// offset sends a SYN from a new source and returns the offset its
		// reply's timestamp carries, and the source.
		offset := func(name string) (uint32, wire.Header, *netsim.PacketConn) {
			raw := n.Listen(netsim.Addr(name))
			t.Cleanup(func() { raw.Close() })
			sent := time.Now()
			reply := synReply(t, raw, b)
			return reply.Timestamp - stamp(sent.Add(delay)), reply, raw
		}
		o1, _, _ := offset("d1")
		o2, _, _ := offset("d2")
		if o1 == 0 || o2 == 0 || o1 == o2 {
			t.Fatalf("two connections' replies carry offsets %#x and %#x from our clock: want both hidden, and different", o1, o2)
		}
		forgeSyns(t, n, b, limit) // fills the unproven list with young entries
		before := b.Stats().SynsStateless
		o3, reply, raw := offset("d3")
		if got := b.Stats().SynsStateless; got != before+1 {
			t.Fatalf("the SYN was not answered statelessly (%d such answers, %d before)", got, before)
		}
		time.Sleep(time.Second)
		proved := time.Now()
		proof := wire.Header{Type: wire.Data, ConnID: 101, SeqNr: 2, AckNr: reply.SeqNr - 1, WndSize: 1 << 20}
		raw.WriteTo(append(proof.Append(nil), "hello"...), b.Addr())
		buf := make([]byte, 2048)
		raw.SetReadDeadline(time.Now().Add(time.Second))
		k, _, err := raw.ReadFrom(buf)
		if err != nil {
			t.Fatalf("the rebuilt connection sent nothing: %v", err)
		}
		h, _, err := wire.Parse(buf[:k])
		if err != nil {
			t.Fatal(err)
		}
		if o := h.Timestamp - stamp(proved.Add(delay)); o != o3 {
			t.Fatalf("the rebuilt connection's %v carries offset %#x; the stateless reply carried %#x", h.Type, o, o3)
		}
	})
}
