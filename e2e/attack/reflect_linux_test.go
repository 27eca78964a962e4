package attack

import (
	"io"
	"net"
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
// bound for an unproven address), and Accept returns nothing.
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
	accepted := 0
	served.Add(1)
	go func() {
		defer served.Done()
		for {
			c, err := server.Accept()
			if err != nil {
				return
			}
			accepted++
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
	for round := range 3 {
		for i := range sources {
			id := uint16(i * 31)
			forge(i, header(stSyn, id, 1000, 0, 0)) // the same SYN, repeated as a dialer repeats it
			// A guess at the reply's sequence number, with data.
			forge(i, header(stData, id+1, 1001, uint16(round*7), 100))
			// A packet for a connection that does not exist.
			forge(i, header(stState, id^0x5555, 1, 1, 0))
		}
		time.Sleep(time.Second)
	}
	v.settle()
	var total, got int64
	for i := range sources {
		total += sent[i]
		r := v.per[i].Load()
		got += r
		if r > 3*sent[i] {
			t.Errorf("%v received %d bytes for the %d forged in its name, more than 3 times", v.addrs[i], r, sent[i])
		}
	}
	t.Logf("forged %d bytes from %d sources; they received %d (%.2f×); %+v", total, sources, got, float64(got)/float64(total), server.Stats())
	server.Close()
	served.Wait()
	if accepted != 0 {
		t.Errorf("Accept returned %d connections from forged sources", accepted)
	}
}
