package packetio

import (
	"net"
	"net/netip"
	"testing"
)

// TestSendKeepsItsScratch checks that a UDP socket's gathered sends use
// one scratch of their own, send after send, rather than one from the
// package's pool each time, that a send while another holds it still
// goes out (with a pooled one), and that Close gives the kept one back.
func TestSendKeepsItsScratch(t *testing.T) {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := New(u, Config{}).(*udp)
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	v := c.os.vec
	if v == nil {
		t.Fatal("no gathered sends on a Linux UDP socket")
	}
	to := Addr{AP: netip.MustParseAddrPort(peer.LocalAddr().String())}
	send := func() {
		t.Helper()
		if r := c.Send(to, []Datagram{{Head: []byte{1, 2, 3}}}); r.Datagrams != 1 || r.Errors > 0 {
			t.Fatalf("send: %+v", r)
		}
	}
	send()
	kept := v.kept.Load()
	if kept == nil {
		t.Fatal("no scratch kept after a send")
	}
	for range 10 {
		send()
		if v.kept.Load() != kept {
			t.Fatal("a send left another scratch kept than the one it took")
		}
	}
	held := v.scratch() // as a concurrent send holds it
	send()
	if got := v.kept.Load(); got == nil || got == held {
		t.Fatalf("a send while the kept scratch is held kept %p (held %p); want the pooled one it used", got, held)
	}
	v.done(held) // the slot is taken: pooled
	buf := make([]byte, 16)
	for range 12 {
		if n, _, err := peer.ReadFromUDPAddrPort(buf); err != nil || n != 3 {
			t.Fatalf("peer read %d bytes, %v", n, err)
		}
	}
	c.Close()
	if v.kept.Load() != nil {
		t.Fatal("Close left the scratch kept")
	}
}
