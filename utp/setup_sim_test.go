package utp

import (
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// The datagrams of a setup with a Socket per dial, as a client written the
// usual way makes it: dial, a 1-byte request, the echo, Close of the
// connection, then of its Socket; the server echoes and closes. Each
// datagram costs a system call on one side and a wakeup on the other, so
// the count is the setup's cost in the terms that dominate it.

// The server's part: the reply to the SYN, the echo and its FIN, three
// datagrams a setup. The client's Read returns with the echo, before the
// server's FIN, so the client's FIN does not acknowledge the server's;
// it and the RESET its Socket's Close sends right after arrive together,
// and the FIN's ACK, which waited for the rest of the wakeup's reads,
// never leaves (proto's finack.go): it would only draw an ICMP "port
// unreachable" from the closed client.
func TestSimSocketPerDialServerDatagrams(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
		// One datagram a read, as on a loopback UDP socket, where
		// datagrams sent by separate calls are separate reads: the
		// client's FIN and RESET, the server's echo and FIN.
		b := NewSocket(n.Listen("b", netsim.WithoutCoalescing()))
		defer b.Close()
		go simServe(b, func(c *Conn) {
			one := make([]byte, 1)
			if _, err := io.ReadFull(c, one); err == nil {
				c.Write(one)
			}
		})
		const setups = 5
		var client uint64 // datagrams the clients sent
		for i := range setups {
			a := NewSocket(n.Listen(netsim.Addr(fmt.Sprintf("client%d", i)), netsim.WithoutCoalescing()))
			c := simDial(t, a, b)
			simPing(t, c, byte(i))
			c.Close()
			a.Close()
			client += a.Stats().PacketsOut
			synctest.Wait()
			time.Sleep(time.Second) // anything the server still sends
			synctest.Wait()
		}
		if got := b.Stats().PacketsOut; got != 3*setups {
			t.Errorf("the server sent %d datagrams in %d setups, want 3 each (SYN reply, echo, FIN)", got, setups)
		}
		if client != 4*setups {
			t.Errorf("the clients sent %d datagrams in %d setups, want 4 each (SYN, request, FIN, RESET)", client, setups)
		}
		if conns := b.Stats().Conns; conns != 0 {
			t.Errorf("%d connections left on the server", conns)
		}
	})
}
