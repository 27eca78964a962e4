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
	// A new Socket's reader goroutine takes the free lead a standby tick
	// (1 ms) after Listen: a test descheduled that long finds it taken
	// (under -race, about one run in a hundred), so up to eight new
	// Sockets are tried.
	var s *Socket
	for attempt := 1; s == nil; attempt++ {
		fresh, err := Listen("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case fresh.lead.tryTake():
			s = fresh
		case attempt == 8:
			fresh.Close()
			t.Fatal("the read lead of eight new Sockets was taken before the test could take it")
		default:
			fresh.Close()
		}
	}
	defer s.Close()
	l := &s.lead
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
