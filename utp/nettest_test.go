package utp

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// TestNetConnUDP runs x/net's net.Conn conformance suite (deadlines,
// concurrent use, close semantics, io.Copy behaviour) over UDP loopback.
func TestNetConnUDP(t *testing.T) {
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
