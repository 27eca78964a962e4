package interop

import (
	"context"
	"errors"
	"net"
	"testing"

	anautp "github.com/anacrolix/utp"
	"github.com/inet256/go-utp/v2/utp"
)

// A peer is another uTP implementation on its own UDP socket.
type peer interface {
	Addr() *net.UDPAddr
	Dial(ctx context.Context, to *net.UDPAddr) (net.Conn, error)
	// Accept returns the next connection, or ctx's error.
	Accept(ctx context.Context) (net.Conn, error)
	// Close closes the socket and every connection on it.
	Close() error
	// Crash closes the socket as if the process had died: no packet is
	// sent for its connections.
	Crash() error
}

// peerKind describes an implementation and what we must know to talk to it.
type peerKind struct {
	name string
	// listen opens a socket on addr ("127.0.0.1:0", or a port to reopen).
	listen func(addr string) (peer, error)
	// isReset reports whether an error from the peer's Conn is its
	// "connection reset" error.
	isReset func(error) bool
	// lazyFIN says the peer forgets a closed connection once nothing but
	// its FIN is unacknowledged, and so never resends a lost FIN
	// (anacrolix/utp and its fork v0: conn.go, lazyDestroy).
	lazyFIN bool
	// bulk is the bytes moved each way by TestTransfer.
	bulk int64
	// many says TestManyConnections runs against it by default (all
	// peers run with -interop.full).
	many bool
}

var (
	anacrolixKind = peerKind{
		name:   "anacrolix",
		listen: listenAnacrolix,
		// conn.go, processDelivery: a RESET destroys the Conn with this.
		isReset: func(err error) bool { return err != nil && err.Error() == "peer reset" },
		// anacrolix/utp v0.2.0 reads every datagram into an 8 KiB array
		// (socket.go reader, maxRecvSize = 0x2000) and truncates larger
		// ones. It does not advertise a size, so our Socket keeps to
		// 1,500-byte datagrams toward it with default options.
		lazyFIN: true,
		bulk:    32 << 20,
	}
	// peerKinds are the implementations every test runs against:
	// anacrolix/utp and the v0 library always, and libutp first when cgo
	// is available (libutp_test.go adds it).
	peerKinds = []peerKind{anacrolixKind, v0Kind}

	// oursKind is our own Socket as the peer: the reference that the
	// impaired transfers are measured against.
	oursKind = peerKind{
		name:    "ours",
		listen:  listenOurPeer,
		isReset: func(err error) bool { return errors.Is(err, utp.ErrConnReset) },
	}
)

// newPeer opens a peer of kind k on a free loopback port, closed when the
// test ends.
func newPeer(t *testing.T, k peerKind) peer {
	t.Helper()
	p, err := k.listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("step %q: %v", "open "+k.name+" socket", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// acceptCtx runs a blocking Accept and gives up when ctx ends. The
// goroutine it leaves behind then returns when the socket is closed.
func acceptCtx(ctx context.Context, accept func() (net.Conn, error)) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		go func() { // close what a late Accept returns
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// anacrolixPeer is the pure-Go implementation the v0 seed was forked from.
type anacrolixPeer struct {
	s  *anautp.Socket
	pc net.PacketConn
}

func listenAnacrolix(addr string) (peer, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	s, err := anautp.NewSocketFromPacketConn(pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	return anacrolixPeer{s, pc}, nil
}

// Crash closes the PacketConn under the Socket: its reader then destroys
// every Conn without sending anything (socket.go, reader and destroy),
// whereas CloseNow sends a FIN on each.
func (p anacrolixPeer) Crash() error { return p.pc.Close() }

func (p anacrolixPeer) Addr() *net.UDPAddr { return p.s.Addr().(*net.UDPAddr) }

// Close uses CloseNow: anacrolix's Close keeps the socket open until every
// connection has ended by itself.
func (p anacrolixPeer) Close() error { return p.s.CloseNow() }

func (p anacrolixPeer) Dial(ctx context.Context, to *net.UDPAddr) (net.Conn, error) {
	return p.s.DialContext(ctx, "udp", to.String())
}

func (p anacrolixPeer) Accept(ctx context.Context) (net.Conn, error) {
	return acceptCtx(ctx, p.s.Accept)
}

// ourPeer is one of our Sockets in the peer's seat.
type ourPeer struct{ s *utp.Socket }

func listenOurPeer(addr string) (peer, error) {
	s, err := utp.Listen("udp", addr, wanOpts()...)
	if err != nil {
		return nil, err
	}
	return ourPeer{s}, nil
}

func (p ourPeer) Addr() *net.UDPAddr { return udpAddr(p.s.Addr()) }
func (p ourPeer) Close() error       { return p.s.Close() }
func (p ourPeer) Crash() error       { return p.s.Close() }

func (p ourPeer) Dial(ctx context.Context, to *net.UDPAddr) (net.Conn, error) {
	return p.s.DialContext(ctx, to)
}

func (p ourPeer) Accept(ctx context.Context) (net.Conn, error) {
	return acceptCtx(ctx, p.s.Accept)
}
