package packetio_test

import (
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// readAsync runs one Read in a goroutine.
func readAsync(c packetio.Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, _, _, err := c.Read(make([]byte, packetio.MaxDatagram))
		ch <- err
	}()
	return ch
}

// wakeCases are the endpoints whose Read Wake interrupts: UDP on
// loopback, netsim (made in the caller's bubble), and a PacketConn that
// is neither, which gets the generic endpoint.
func wakeCases(t *testing.T) map[string]func() (packetio.Conn, func(b []byte)) {
	return map[string]func() (packetio.Conn, func(b []byte)){
		"udp": func() (packetio.Conn, func([]byte)) {
			u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { peer.Close() })
			return packetio.New(u, packetio.Config{}), func(b []byte) { peer.WriteTo(b, u.LocalAddr()) }
		},
		"netsim": func() (packetio.Conn, func([]byte)) {
			return simPair(t, func(pc *netsim.PacketConn) net.PacketConn { return pc })
		},
		"generic": func() (packetio.Conn, func([]byte)) {
			// Wrapped, netsim's PacketConn is just a net.PacketConn.
			return simPair(t, func(pc *netsim.PacketConn) net.PacketConn { return struct{ net.PacketConn }{pc} })
		},
	}
}

// simPair returns an endpoint for a netsim PacketConn, as wrap presents
// it, and a function that sends it a datagram from a peer.
func simPair(t *testing.T, wrap func(*netsim.PacketConn) net.PacketConn) (packetio.Conn, func([]byte)) {
	n := netsim.NewNetwork(1)
	n.SetDefaultLink(netsim.LinkConfig{})
	pc, peer := n.Listen("a"), n.Listen("b")
	t.Cleanup(func() { peer.Close() })
	return packetio.New(wrap(pc), packetio.Config{}), func(b []byte) { peer.WriteTo(b, pc.LocalAddr()) }
}

// Wake makes a blocked Read return ErrWoken once; the next Read blocks
// again and reads the next datagram; a Wake before a Read is not lost;
// Close ends a blocked Read with net.ErrClosed.
func TestWake(t *testing.T) {
	for name, open := range wakeCases(t) {
		t.Run(name, func(t *testing.T) {
			body := func(t *testing.T, wait func()) {
				c, send := open()
				done := readAsync(c)
				wait()
				c.Wake()
				if err := <-done; !errors.Is(err, packetio.ErrWoken) {
					t.Fatalf("Read after Wake: %v, want packetio.ErrWoken", err)
				}
				c.Wake() // before the Read: the Read returns at once
				if _, _, _, err := c.Read(make([]byte, packetio.MaxDatagram)); !errors.Is(err, packetio.ErrWoken) {
					t.Fatalf("Read after an earlier Wake: %v, want packetio.ErrWoken", err)
				}
				send([]byte("x"))
				buf := make([]byte, packetio.MaxDatagram)
				if n, _, from, err := c.Read(buf); err != nil || n != 1 || from.NetAddr() == nil {
					t.Fatalf("Read after the wakes: %d bytes from %v, %v; want the datagram", n, from, err)
				}
				done = readAsync(c)
				wait()
				c.Close()
				if err := <-done; !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
				}
			}
			if name == "udp" {
				// A read blocked in the kernel is not idle to synctest;
				// whether it has blocked yet does not matter to what is
				// checked, as a Wake or Close before it counts too.
				body(t, func() {})
				return
			}
			synctest.Test(t, func(t *testing.T) { body(t, synctest.Wait) })
		})
	}
}

// Wakes racing with a read never leave the endpoint timing out with no
// Wake to report: once the Wakes are reported, a Read blocks until a
// datagram comes, and gets it.
func TestWakeRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, send := wakeCases(t)["netsim"]()
		defer c.Close()
		for i := range 100 {
			go c.Wake()
			go c.Wake()
			done := readAsync(c)
			for {
				synctest.Wait()
				select {
				case err := <-done:
					if !errors.Is(err, packetio.ErrWoken) {
						t.Fatalf("round %d: Read: %v, want packetio.ErrWoken", i, err)
					}
					done = readAsync(c)
					continue
				default:
				}
				break // blocked, as it should be once the Wakes are reported
			}
			send([]byte("x"))
			if err := <-done; err != nil {
				t.Fatalf("round %d: Read: %v, want the datagram", i, err)
			}
		}
	})
}

// New gives netsim's PacketConn the simulator's endpoint, which batches
// and wakes; a type that embeds it (and so has its methods) may block in
// WriteTo (utp's blockingConn does), and is generic, as is any wrapper.
func TestNewRecognisesNetsim(t *testing.T) {
	n := netsim.NewNetwork(1)
	pc := n.Listen("a")
	defer pc.Close()
	if caps := packetio.New(pc, packetio.Config{}).Caps(); !caps.Wake || !caps.Gather || caps.BlockingSend {
		t.Fatalf("netsim PacketConn got caps %+v, want the batching endpoint's: Wake and Gather, sends that never block", caps)
	}
	for _, wrapped := range []net.PacketConn{struct{ net.PacketConn }{pc}, struct{ *netsim.PacketConn }{pc}} {
		if caps := packetio.New(wrapped, packetio.Config{}).Caps(); !caps.BlockingSend {
			t.Fatalf("%T got caps %+v, want the generic endpoint's (sends that may block)", wrapped, caps)
		}
	}
}

// Send delivers gathered datagrams whole, in order, on every endpoint,
// and counts them.
func TestSendGathered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: time.Millisecond})
		pc, peer := n.Listen("a"), n.Listen("b")
		defer peer.Close()
		for _, c := range []packetio.Conn{packetio.New(pc, packetio.Config{}), packetio.New(struct{ net.PacketConn }{pc}, packetio.Config{})} {
			ds := []packetio.Datagram{
				{Head: []byte("ab"), Tail: [2][]byte{[]byte("cd"), []byte("e")}},
				{Head: []byte("fghij")},
			}
			r := c.Send(c.AddrOf(peer.LocalAddr()), ds)
			if r.Datagrams != 2 || r.Bytes != 10 || r.Errors != 0 {
				t.Fatalf("%T: Send %+v, want 2 datagrams, 10 bytes", c, r)
			}
			buf := make([]byte, 64)
			for _, want := range []string{"abcde", "fghij"} {
				n, _, err := peer.ReadFrom(buf)
				if err != nil || string(buf[:n]) != want {
					t.Fatalf("%T: read %q, %v; want %q", c, buf[:n], err, want)
				}
			}
		}
		pc.Close()
	})
}
