package main

import (
	"context"
	"net"
	"time"
)

// dialTimeout bounds every dial in the scenarios.
const dialTimeout = 10 * time.Second

// A pair is one scenario's two endpoints of a transport: a server that
// accepts and a client that dials it. Every scenario starts from one, so
// they all set up, dial and serve alike.
type pair struct {
	srv, cli endpoint
}

// openPair opens a server and a client endpoint of im on loopback. When it
// cannot, it says why in r.Err and returns nil.
func openPair(im impl, r *result) *pair {
	srv, err := im.open("127.0.0.1:0")
	if err != nil {
		r.Err = err.Error()
		return nil
	}
	cli, err := im.open("127.0.0.1:0")
	if err != nil {
		srv.Close()
		r.Err = err.Error()
		return nil
	}
	return &pair{srv: srv, cli: cli}
}

// openPairOn opens the server in v's server namespace and the client in
// its client namespace; the client's dials run there too (a TCP dial
// makes its socket then). When it cannot, it says why in r.Err and
// returns nil.
func openPairOn(im impl, r *result, v *vethPath) *pair {
	var srv, cli endpoint
	err := inNetns(v.srvNS, func() (err error) {
		srv, err = im.open(v.srvAddr + ":0")
		return err
	})
	if err == nil {
		err = inNetns(v.cliNS, func() (err error) {
			cli, err = im.open(v.cliAddr + ":0")
			return err
		})
	}
	if err != nil {
		if srv != nil {
			srv.Close()
		}
		r.Err = err.Error()
		return nil
	}
	return &pair{srv: srv, cli: nsEndpoint{cli, v.cliNS}}
}

// nsEndpoint dials from within a namespace.
type nsEndpoint struct {
	endpoint
	ns string
}

func (e nsEndpoint) Dial(ctx context.Context, to net.Addr) (c net.Conn, err error) {
	nerr := inNetns(e.ns, func() error {
		c, err = e.endpoint.Dial(ctx, to)
		return nil
	})
	if nerr != nil {
		return nil, nerr
	}
	return c, err
}

// Close closes both endpoints.
func (p *pair) Close() {
	p.srv.Close()
	p.cli.Close()
}

// dial opens a connection from the client to the server, within
// dialTimeout.
func (p *pair) dial() (net.Conn, error) { return p.dialTo(p.srv.Addr(), dialTimeout) }

// dialTo opens a connection from the client to an address (a relay in
// front of the server, say) within d.
func (p *pair) dialTo(to net.Addr, d time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return p.cli.Dial(ctx, to)
}

// serve accepts up to n connections (any number when n < 0) on the server
// and runs handle on each in its own goroutine, closing the connection
// when handle returns: a server written the way most users write one. It
// returns when Accept fails, so closing the pair ends it.
func (p *pair) serve(n int, handle func(c net.Conn)) {
	go func() {
		for i := 0; n < 0 || i < n; i++ {
			c, err := p.srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// The usage shapes: how a program spreads its dials over client
// endpoints. Every shape's server accepts in a loop and serves each
// connection in a goroutine of its own (pair.serve).
const (
	// shapeShared dials every connection from the pair's one client
	// endpoint (one Socket for many connections).
	shapeShared = "shared"
	// shapePerDial opens a client endpoint for each dial and closes it
	// with its connection, as a program does that dials the way TCP's
	// connect takes a fresh port.
	shapePerDial = "socket-per-dial"
	// shapeAcceptLoop is a ping-pong whose server keeps an Accept pending
	// while it answers; the default ping-pong server accepts once.
	shapeAcceptLoop = "accept-loop"
)

// openClient opens an endpoint that dials, for one connection.
func (im impl) openClient() (endpoint, error) {
	if im.client != nil {
		return im.client()
	}
	return im.open("127.0.0.1:0")
}

// dialShape dials the server from the client endpoint the shape says:
// the pair's own, or (shapePerDial) a new one that closing the returned
// connection also closes.
func (p *pair) dialShape(im impl, shape string) (net.Conn, error) {
	if shape != shapePerDial {
		return p.dial()
	}
	ep, err := im.openClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, err := ep.Dial(ctx, p.srv.Addr())
	if err != nil {
		ep.Close()
		return nil, err
	}
	return ownedConn{c, ep}, nil
}

// ownedConn is a connection that owns the endpoint it was dialed from.
type ownedConn struct {
	net.Conn
	ep endpoint
}

// Close closes the connection, then its endpoint.
func (c ownedConn) Close() error {
	err := c.Conn.Close()
	c.ep.Close()
	return err
}
