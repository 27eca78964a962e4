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
		n, b := simEchoOnce(10*time.Millisecond, 0)
		defer b.Close()
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

// Through a shared Socket, the client's Close reads the server's FIN,
// queued behind the echo its Read returned with, before building its own
// FIN (closedrain.go): that FIN acknowledges the server's, and the
// server's ACK of it ends the exchange, 7 datagrams a setup as TCP's 7
// segments, where crossing FINs cost 8 (each side's ACK of the other's).
// The timing is loopback's: a setup well within the reader goroutine's
// standby tick, so that the dials and Reads lead and leave the token
// free, and the server's FIN arriving just after the echo.
func TestSimSharedSocketSetupDatagrams(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, b := simEchoOnce(10*time.Microsecond, 5*time.Microsecond)
		defer b.Close()
		a := NewSocket(n.Listen("a", netsim.WithoutCoalescing()))
		defer a.Close()
		setup := func(i int) {
			c := simDial(t, a, b)
			simPing(t, c, byte(i))
			time.Sleep(10 * time.Microsecond) // the server's FIN arrives, unread
			c.Close()
			time.Sleep(100 * time.Microsecond) // the rest of the exchange
			synctest.Wait()
		}
		// The Socket's first connection, left open: a Socket that has
		// made another connection is not one opened for this one alone
		// (readBeforeFin).
		first := simDial(t, a, b)
		synctest.Wait()
		a0, b0 := a.Stats().PacketsOut, b.Stats().PacketsOut
		const setups = 5
		for i := range setups {
			setup(i)
		}
		if got := b.Stats().PacketsOut - b0; got != 4*setups {
			t.Errorf("the server sent %d datagrams in %d setups, want 4 each (SYN reply, echo, FIN, ACK of the client's FIN)", got, setups)
		}
		if got := a.Stats().PacketsOut - a0; got != 3*setups {
			t.Errorf("the client sent %d datagrams in %d setups, want 3 each (SYN, request, FIN acknowledging the server's)", got, setups)
		}
		if a.lead.turns.Load() != 0 {
			t.Errorf("the client's reader goroutine read: the dials and Reads were to lead, as on loopback")
		}
		first.Close()
	})
}

// simEchoOnce returns a network whose links take delay and a Socket on
// it, "b", that echoes one byte on each connection it accepts and
// closes the connection finAfter later. Each read takes one datagram, as
// on a loopback UDP socket, where datagrams sent by separate calls are
// separate reads: the client's FIN and RESET, the server's echo and FIN.
func simEchoOnce(delay, finAfter time.Duration) (*netsim.Network, *Socket) {
	n := netsim.NewNetwork(1)
	n.SetDefaultLink(netsim.LinkConfig{Delay: delay})
	b := NewSocket(n.Listen("b", netsim.WithoutCoalescing()))
	go simServe(b, func(c *Conn) {
		one := make([]byte, 1)
		if _, err := io.ReadFull(c, one); err == nil {
			c.Write(one)
			if finAfter > 0 {
				time.Sleep(finAfter)
			}
		}
	})
	return n, b
}
