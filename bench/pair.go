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
