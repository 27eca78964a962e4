package interop

import (
	"context"
	"net"

	v0utp "github.com/inet256/go-utp"
)

// v0Kind is the library this module replaces: github.com/inet256/go-utp,
// at the version that github.com/inet256/inet256
// v0.0.8-0.20230603164405-67b6a7a91980 pins (still what INET256 nodes run).
// It is a fork of anacrolix/utp and keeps its behaviour on the wire.
var v0Kind = peerKind{
	name:   "v0",
	listen: listenV0,
	// conn.go, processDelivery: a RESET destroys the Conn with this.
	isReset: func(err error) bool { return err != nil && err.Error() == "peer reset" },
	// As anacrolix/utp, it reads every datagram into 8 KiB (utp.go,
	// maxRecvSize = 0x2000) and advertises no size, so our Socket keeps to
	// 1,500-byte datagrams toward it with default options; and it forgets
	// a closed connection as anacrolix/utp does (conn.go, lazyDestroy).
	lazyFIN: true,
	bulk:    32 << 20,
}

// v0Peer is one v0 Socket on its own UDP socket.
type v0Peer struct {
	s  *v0utp.Socket
	pc net.PacketConn
}

func listenV0(addr string) (peer, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	return v0Peer{v0utp.NewSocket(pc), pc}, nil
}

// Crash closes the PacketConn under the Socket: its reader then destroys
// every Conn without sending anything (socket.go, reader and destroy).
func (p v0Peer) Crash() error { return p.pc.Close() }

func (p v0Peer) Addr() *net.UDPAddr { return p.pc.LocalAddr().(*net.UDPAddr) }

// Close uses CloseNow: Close keeps the socket open until every connection
// has ended by itself (socket.go, lazyDestroy).
func (p v0Peer) Close() error { return p.s.CloseNow() }

func (p v0Peer) Dial(ctx context.Context, to *net.UDPAddr) (net.Conn, error) {
	return p.s.DialContext(ctx, to)
}

func (p v0Peer) Accept(ctx context.Context) (net.Conn, error) {
	return acceptCtx(ctx, p.s.Accept)
}
