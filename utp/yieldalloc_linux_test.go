package utp

import (
	"net"
	"net/netip"
	"testing"
)

// The reader goroutine's read after one that woke a goroutine (yieldRead,
// through packetio's Yielder on Linux UDP) allocates nothing: its yield
// was a method value made at each call, an allocation that escaped into
// the endpoint, about five a setup.
func TestYieldReadAllocatesNothing(t *testing.T) {
	s, err := Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := &s.lead
	if !l.tryTake() {
		t.Fatal("a new Socket's read lead is not free")
	}
	defer func() { l.tok <- struct{}{} }()
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := s.Addr().(*net.UDPAddr).AddrPort()
	msg := []byte("not uTP")
	read := func() {
		if _, err := peer.WriteToUDPAddrPort(msg, netip.AddrPortFrom(to.Addr(), to.Port())); err != nil {
			t.Fatal(err)
		}
		if n, _, _, err := l.yieldRead(); err != nil || n != len(msg) {
			t.Fatalf("yieldRead: %d bytes, %v", n, err)
		}
	}
	read() // the endpoint's first read sets up what it keeps
	if allocs := testing.AllocsPerRun(100, read); allocs != 0 {
		t.Errorf("%v allocations per read, want 0", allocs)
	}
}
