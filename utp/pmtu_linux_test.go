package utp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// TestLoopbackPathFixed checks that over loopback discovery starts and
// ends at the device's size: no base, no probes, the largest packets
// at once, and no floor below them: a peer that stops answering is not a
// black hole there (with the IPv4 floor below it, it made a connection
// fall to 548-byte packets and wait out the idle timeout, 90 s, instead of
// failing after its 16 timeouts).
func TestLoopbackPathFixed(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	p := a.pathFor(source{AP: netip.MustParseAddrPort(b.Addr().String())}, time.Now())
	if want := loopbackPacketSize + maxOverhead; !p.on || p.base != p.ceiling || p.floor != p.ceiling || p.start != p.ceiling || p.ceiling != want {
		t.Fatalf("loopback path %+v: want discovery on, floor = base = start = ceiling = %d", p, want)
	}
	ca, cb := dialAcceptB(t, a, b)
	defer ca.Close()
	defer cb.Close()
	st := ca.Stats()
	if st.PathMTU != loopbackPacketSize+maxOverhead || st.PacketSize != loopbackPacketSize {
		t.Fatalf("loopback connection: PathMTU %d, PacketSize %d; want %d and %d", st.PathMTU, st.PacketSize, loopbackPacketSize+maxOverhead, loopbackPacketSize)
	}
}

// TestSendReportsTooBig checks that a datagram the kernel refuses as too
// long (EMSGSIZE: here longer than any IPv4 UDP datagram) is reported
// by its size, for path MTU discovery to take as a ceiling, while the
// datagrams around it still leave.
func TestSendReportsTooBig(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	to := source{AP: netip.MustParseAddrPort(b.Addr().String())}
	out := a.getBatch()
	for _, n := range []int{1200, 1200, maxUDPPayload + 1, 1200} {
		buf := a.getBuf()
		out.add(packetio.Datagram{Head: buf[:n]})
	}
	before := a.Stats()
	if got := a.send(out, to); got != maxUDPPayload+1 {
		t.Fatalf("send reported %d as too big, want %d", got, maxUDPPayload+1)
	}
	a.putBatch(out)
	st := a.Stats()
	if sent := st.PacketsOut - before.PacketsOut; sent != 3 {
		t.Fatalf("%d datagrams sent, want the 3 that fit", sent)
	}
}
