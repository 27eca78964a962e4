package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"time"

	libutp "github.com/anacrolix/go-libutp"
	anautp "github.com/anacrolix/utp"
	"github.com/quic-go/quic-go"

	"github.com/inet256/go-utp/v2/e2e/realpath"
	"github.com/inet256/go-utp/v2/utp"
)

// An endpoint is one side of a transport: it accepts, dials, or both. The
// real-path scenarios take the same endpoints.
type endpoint = realpath.Endpoint

// An impl is a stream transport under test.
type impl struct {
	name string
	// udp is set for transports over UDP: they can go through the relay
	// and their sockets' receive-buffer drops are counted.
	udp bool
	// open returns an endpoint bound to addr ("127.0.0.1:0" or a port).
	open func(addr string) (endpoint, error)
	// client, if set, opens an endpoint that only dials, for a client
	// that opens one per connection; else open("127.0.0.1:0") does.
	client func() (endpoint, error)
}

// cappedPayload is our payload size when a packet is capped at quic-go's
// 1,452-byte datagram (quic-go internal/protocol, MaxPacketBufferSize):
// 1,452 less uTP's 20-byte header.
const cappedPayload = 1452 - 20

var impls = []impl{
	{name: "utp", udp: true, open: openUTP()},
	{name: "utp-1452", udp: true, open: openUTP(utp.WithPacketSize(cappedPayload))},
	{name: "tcp", open: openTCP, client: openTCPDialer},
	{name: "quic-go", udp: true, open: openQUIC},
	{name: "libutp", udp: true, open: openLibutp},
	{name: "anacrolix", udp: true, open: openAnacrolix},
}

func implByName(name string) (impl, error) {
	for _, im := range impls {
		if im.name == name {
			return im, nil
		}
	}
	return impl{}, fmt.Errorf("unknown implementation %q", name)
}

// ours is a utp.Socket.
type ours struct{ *utp.Socket }

func openUTP(opts ...utp.SocketOption) func(string) (endpoint, error) {
	return func(addr string) (endpoint, error) {
		s, err := utp.Listen("udp", addr, opts...)
		if err != nil {
			return nil, err
		}
		return ours{s}, nil
	}
}

func (o ours) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	return o.DialContext(ctx, to)
}

// tcpEndpoint listens and dials over TCP.
type tcpEndpoint struct{ net.Listener }

func openTCP(addr string) (endpoint, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return tcpEndpoint{l}, nil
}

func (t tcpEndpoint) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", to.String())
}

// tcpDialer only dials: TCP's connect takes a fresh port by itself, so a
// client per connection costs TCP nothing more than a dial.
type tcpDialer struct{ tcpEndpoint }

func openTCPDialer() (endpoint, error) { return tcpDialer{}, nil }

func (tcpDialer) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (tcpDialer) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (tcpDialer) Close() error              { return nil }

// libutpEndpoint is BitTorrent's libutp through its cgo wrapper.
type libutpEndpoint struct{ *libutp.Socket }

func openLibutp(addr string) (endpoint, error) {
	s, err := libutp.NewSocket("udp", addr)
	if err != nil {
		return nil, err
	}
	return libutpEndpoint{s}, nil
}

func (l libutpEndpoint) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	return l.DialContext(ctx, "udp", to.String())
}

// anacrolixEndpoint is the pure-Go uTP the v0 seed was forked from.
type anacrolixEndpoint struct{ *anautp.Socket }

func openAnacrolix(addr string) (endpoint, error) {
	s, err := anautp.NewSocket("udp", addr)
	if err != nil {
		return nil, err
	}
	return anacrolixEndpoint{s}, nil
}

func (a anacrolixEndpoint) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	return a.DialContext(ctx, "udp", to.String())
}

// Close does not wait for connections to end by themselves, as
// anacrolix's Close would.
func (a anacrolixEndpoint) Close() error { return a.CloseNow() }

// quicEndpoint runs one quic-go Transport; each connection carries one
// bidirectional stream, which is the net.Conn.
type quicEndpoint struct {
	tr       *quic.Transport
	ln       *quic.Listener
	streams  chan net.Conn
	ctx      context.Context
	cancel   context.CancelFunc
	tlsServe *tls.Config
}

const quicALPN = "utp-bench"

func openQUIC(addr string) (endpoint, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	tr := &quic.Transport{Conn: pc}
	ln, err := tr.Listen(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{quicALPN}}, quicConfig())
	if err != nil {
		pc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &quicEndpoint{tr: tr, ln: ln, streams: make(chan net.Conn, 1024), ctx: ctx, cancel: cancel}
	go q.acceptLoop()
	return q, nil
}

func quicConfig() *quic.Config {
	return &quic.Config{MaxIdleTimeout: 30 * time.Second, HandshakeIdleTimeout: 10 * time.Second}
}

// acceptLoop accepts connections and, on each, its one stream. A
// stream is announced by its first data, so each waits on its own.
func (q *quicEndpoint) acceptLoop() {
	for {
		c, err := q.ln.Accept(q.ctx)
		if err != nil {
			close(q.streams)
			return
		}
		go func() {
			s, err := c.AcceptStream(q.ctx)
			if err != nil {
				c.CloseWithError(0, "")
				return
			}
			select {
			case q.streams <- quicConn{s, c, true}:
			case <-q.ctx.Done():
				c.CloseWithError(0, "")
			}
		}()
	}
}

func (q *quicEndpoint) Accept() (net.Conn, error) {
	c, ok := <-q.streams
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}

func (q *quicEndpoint) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	tc := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{quicALPN}}
	c, err := q.tr.Dial(ctx, to, tc, quicConfig())
	if err != nil {
		return nil, err
	}
	s, err := c.OpenStreamSync(ctx)
	if err != nil {
		c.CloseWithError(0, "")
		return nil, err
	}
	return quicConn{s, c, false}, nil
}

func (q *quicEndpoint) Addr() net.Addr { return q.tr.Conn.LocalAddr() }

func (q *quicEndpoint) Close() error {
	q.cancel()
	q.ln.Close()
	return q.tr.Close()
}

// quicConn is a stream as a net.Conn. CloseWrite ends the stream's sending
// side; Close also closes the connection.
type quicConn struct {
	*quic.Stream
	c *quic.Conn
	// accepted: Close waits (a little) for the dialer to close first.
	// Closing a QUIC connection is abortive, so a server that closes at
	// once after its last write may destroy that write in flight; TCP and
	// uTP deliver it before their FIN.
	accepted bool
}

func (q quicConn) LocalAddr() net.Addr  { return q.c.LocalAddr() }
func (q quicConn) RemoteAddr() net.Addr { return q.c.RemoteAddr() }
func (q quicConn) CloseWrite() error    { return q.Stream.Close() }
func (q quicConn) Close() error {
	q.Stream.Close()
	if q.accepted {
		select {
		case <-q.c.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
	return q.c.CloseWithError(0, "")
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
