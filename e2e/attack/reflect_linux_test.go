package attack

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// Reflection: a server that writes as soon as it accepts (the shape the
// issue's attacker used) receives forged SYNs, their retransmissions, and
// forged packets for connections it does not have, from forged sources
// that the test binds to count what reaches them. Within 3 s no source
// receives more than 3 times the bytes forged in its name (RFC 9000 8.1's
// bound for an unproven address), and Accept returns nothing, unless a
// forged guess of the reply's sequence number happened to be right (2
// chances in 65,536 each, about 1 run in 100 with these 300 guesses):
// then only that source's connection, and only that source, proven by
// its guess, may receive more (the server's 64 KiB).
func TestReflectionBound(t *testing.T) {
	const sources = 100
	sp := newSpoofer(t)
	v := newVictims(t, sources)
	server, err := utp.Listen("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	saddr := server.Addr().(*net.UDPAddr).AddrPort()
	var served sync.WaitGroup
	var accepted []netip.AddrPort
	served.Add(1)
	go func() {
		defer served.Done()
		for {
			c, err := server.Accept()
			if err != nil {
				return
			}
			accepted = append(accepted, c.RemoteAddr().(*net.UDPAddr).AddrPort())
			served.Add(1)
			go func() {
				defer served.Done()
				c.Write(make([]byte, 64<<10))
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()

	sent := make([]int64, sources)
	forge := func(i int, b []byte) {
		if err := sp.send(v.addrs[i], saddr, b); err != nil {
			t.Fatalf("forging from %v: %v", v.addrs[i], err)
		}
		sent[i] += int64(len(b))
	}
	guess := func(round int) uint16 { return uint16(round * 7) }
	for round := range 3 {
		for i := range sources {
			id := uint16(i * 31)
			forge(i, header(stSyn, id, 1000, 0, 0)) // the same SYN, repeated as a dialer repeats it
			// A guess at the reply's sequence number, with data.
			forge(i, header(stData, id+1, 1001, guess(round), 100))
			// A packet for a connection that does not exist.
			forge(i, header(stState, id^0x5555, 1, 1, 0))
		}
		time.Sleep(time.Second)
	}
	v.settle()
	lucky := map[netip.AddrPort]bool{}
	if v.replies() == 0 {
		t.Error("no forged source recorded a reply: the guesses cannot be checked")
	}
	for i := range sources {
		for round := range 3 {
			if v.guessed(i, guess(round)) {
				lucky[v.addrs[i]] = true
			}
		}
	}
	var total, got int64
	for i := range sources {
		total += sent[i]
		r := v.per[i].Load()
		got += r
		switch {
		case r <= 3*sent[i]:
		case lucky[v.addrs[i]]:
			// Its right guess proved the address as a dialer's proof
			// does, so the server wrote to it: the bound is for
			// unproven addresses.
			t.Logf("%v, whose guess was right, received %d bytes for the %d forged in its name", v.addrs[i], r, sent[i])
		default:
			t.Errorf("%v received %d bytes for the %d forged in its name, more than 3 times", v.addrs[i], r, sent[i])
		}
	}
	t.Logf("forged %d bytes from %d sources; they received %d (%.2f×); %+v", total, sources, got, float64(got)/float64(total), server.Stats())
	server.Close()
	served.Wait()
	for _, a := range accepted {
		if !lucky[a] {
			t.Errorf("Accept returned a connection from forged source %v, whose guesses were all wrong", a)
		}
	}
	if len(lucky) > 0 {
		t.Logf("%d forged sources guessed the reply's sequence number; Accept returned %d connections", len(lucky), len(accepted))
	}
}
