//go:build linux

package realpath

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/inet256/go-utp/v2/utp"
	"golang.org/x/sys/unix"
)

// An Endpoint is one side of a stream transport: it accepts, dials, or
// both (bench's endpoints have the same shape).
type Endpoint interface {
	Accept() (net.Conn, error)
	Dial(ctx context.Context, to net.Addr) (net.Conn, error)
	Addr() net.Addr
	Close() error
}

// A Transport is a named way to open endpoints. Open is called on a
// thread inside the endpoint's namespace, with "0.0.0.0:0".
type Transport struct {
	Name string
	Open func(addr string) (Endpoint, error)
}

// UTP is our library with default options plus opts.
func UTP(name string, opts ...utp.SocketOption) Transport {
	return Transport{Name: name, Open: func(addr string) (Endpoint, error) {
		s, err := utp.Listen("udp4", addr, opts...)
		if err != nil {
			return nil, err
		}
		return utpEndpoint{s}, nil
	}}
}

type utpEndpoint struct{ *utp.Socket }

func (e utpEndpoint) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	return e.DialContext(ctx, to)
}

// TCP is the kernel's TCP with cubic congestion control on both sides.
var TCP = Transport{Name: "tcp cubic", Open: func(addr string) (Endpoint, error) {
	lc := net.ListenConfig{Control: cubic}
	l, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, err
	}
	return tcpEndpoint{l}, nil
}}

type tcpEndpoint struct{ net.Listener }

func (t tcpEndpoint) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	d := net.Dialer{Control: cubic}
	return d.DialContext(ctx, "tcp4", to.String())
}

// cubic sets a TCP socket's congestion control to cubic. The host's
// default may be another (bbr), and a namespace other than the first may
// only default to the host's allowed list, but root may pick any loaded
// controller per socket (TCP_CONGESTION, tcp(7)).
func cubic(network, address string, rc syscall.RawConn) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, "cubic")
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("TCP_CONGESTION cubic: %w", err)
	}
	return nil
}

// dialTimeout bounds a flow's setup.
const dialTimeout = 10 * time.Second

// A flow is one bulk transfer from the sender to the receiver: the
// sender writes as fast as the transport takes data, the receiver reads
// and counts.
type flow struct {
	name     string
	srv, cli Endpoint
	sc, cc   net.Conn
	received atomic.Int64
	wg       sync.WaitGroup
}

// startFlow opens both endpoints in their namespaces, connects them and
// starts the transfer.
func (p *Path) startFlow(tr Transport) (f *flow, err error) {
	f = &flow{name: tr.Name}
	defer func() {
		if err != nil {
			f.stop()
			f = nil
		}
	}()
	if err := p.In(p.Receiver, func() (err error) { f.srv, err = tr.Open("0.0.0.0:0"); return err }); err != nil {
		return f, err
	}
	if err := p.In(p.Sender, func() (err error) { f.cli, err = tr.Open("0.0.0.0:0"); return err }); err != nil {
		return f, err
	}
	_, port, err := net.SplitHostPort(f.srv.Addr().String())
	if err != nil {
		return f, err
	}
	to, err := net.ResolveUDPAddr("udp4", net.JoinHostPort(p.ReceiverAddr.String(), port))
	if err != nil {
		return f, err
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := f.srv.Accept() // fails only when the flow stops first
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	// Dial inside the sender's namespace too: a TCP socket is made here.
	err = p.In(p.Sender, func() error {
		c, err := f.cli.Dial(ctx, to)
		if err == nil {
			f.cc = c
		}
		return err
	})
	if err != nil {
		return f, fmt.Errorf("%s: dial: %w", tr.Name, err)
	}
	f.wg.Add(1)
	go f.write()
	select {
	case f.sc = <-accepted:
	case <-ctx.Done():
	}
	if f.sc == nil {
		return f, fmt.Errorf("%s: no connection accepted within %v of the dial", tr.Name, dialTimeout)
	}
	f.wg.Add(1)
	go f.read()
	return f, nil
}

// write sends until the connection fails (stop closes it).
func (f *flow) write() {
	defer f.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.cc.Write(buf); err != nil {
			return
		}
	}
}

// read counts what arrives until the connection fails.
func (f *flow) read() {
	defer f.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.sc.Read(buf)
		f.received.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// A StatsConn is a connection that reports uTP statistics without being
// this module's *utp.Conn: bench wraps another build of the library (an
// earlier commit, for before-and-after plots) in one, filling the fields
// that build has, so its window and bytes in flight are traced as ours.
type StatsConn interface {
	net.Conn
	UTPStats() utp.Stats
}

// connStats is c's statistics when it is ours or reports them.
func connStats(c net.Conn) (utp.Stats, bool) {
	switch c := c.(type) {
	case *utp.Conn:
		return c.Stats(), true
	case StatsConn:
		return c.UTPStats(), true
	}
	return utp.Stats{}, false
}

// stats is the sending connection's statistics when it is ours.
func (f *flow) stats() (utp.Stats, bool) { return connStats(f.cc) }

// stop closes both endpoints and both connections, which ends the
// transfer, and waits for its goroutines.
func (f *flow) stop() {
	for _, c := range []io.Closer{f.cli, f.srv, f.cc, f.sc} {
		if c != nil {
			c.Close()
		}
	}
	f.wg.Wait()
}
