package utp

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
	"golang.org/x/net/nettest"
)

// TestNetConnUDP runs x/net's net.Conn conformance suite (deadlines,
// concurrent use, close semantics, io.Copy behaviour) over UDP loopback.
func TestNetConnUDP(t *testing.T) {
	checkLeaks(t)
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		a, err := Listen("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, nil, err
		}
		b, err := Listen("udp", "127.0.0.1:0")
		if err != nil {
			a.Close()
			return nil, nil, nil, err
		}
		return connectPair(a, b)
	})
}

// connectPair dials b from a and returns both ends; stop closes the
// connections and both Sockets.
func connectPair(a, b *Socket) (c1, c2 net.Conn, stop func(), err error) {
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := b.Accept()
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c1, err = a.DialContext(ctx, b.Addr())
	if err != nil {
		a.Close()
		b.Close()
		<-accepted
		return nil, nil, nil, err
	}
	c2 = <-accepted
	stop = func() {
		c1.Close()
		c2.Close()
		a.Close()
		b.Close()
	}
	return c1, c2, stop, nil
}

// TestNetConnNetsim runs the same suite over the simulator's PacketConn
// with a 1 ms path. It runs on the real clock: nettest calls t.Run, which a
// synctest bubble does not allow; synctest_test.go covers virtual time.
func TestNetConnNetsim(t *testing.T) {
	checkLeaks(t)
	n := netsim.NewNetwork(3)
	n.SetDefaultLink(netsim.LinkConfig{Delay: time.Millisecond})
	i := 0
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		i++
		a := NewSocket(n.Listen(netsim.Addr(fmt.Sprintf("a%d", i))))
		b := NewSocket(n.Listen(netsim.Addr(fmt.Sprintf("b%d", i))))
		return connectPair(a, b)
	})
}
