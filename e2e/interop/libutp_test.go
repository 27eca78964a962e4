//go:build cgo

package interop

import (
	"context"
	"net"

	libutp "github.com/anacrolix/go-libutp"
)

// libutp is a cgo wrapper: this file, and with it every libutp case, is
// built only when cgo is available (CGO_ENABLED=1 and a C compiler, as
// in CI). Without cgo the package still builds and runs its anacrolix/utp
// and raw cases.

var libutpKind = peerKind{
	name:   "libutp",
	listen: listenLibutp,
	// go-libutp's errors are libutp's error code names (utp_api.cpp,
	// utp_error_code_names).
	isReset: func(err error) bool { return err != nil && err.Error() == "UTP_ECONNRESET" },
	// go-libutp reads datagrams into 64 KiB buffers (go-libutp socket.go,
	// packetReader), but libutp does not advertise that, so our Socket
	// keeps to 1,500-byte datagrams toward it, as toward every peer that
	// does not speak our size extension.
	bulk: 32 << 20,
	many: true,
}

// init puts libutp first among the peers, where it was before the cgo
// split, so test names and relay seeds are unchanged.
func init() {
	peerKinds = append([]peerKind{libutpKind}, peerKinds...)
}

// libutpPeer is BitTorrent's reference implementation through its cgo
// wrapper.
type libutpPeer struct{ s *libutp.Socket }

func listenLibutp(addr string) (peer, error) {
	s, err := libutp.NewSocket("udp", addr)
	if err != nil {
		return nil, err
	}
	return libutpPeer{s}, nil
}

func (p libutpPeer) Addr() *net.UDPAddr { return p.s.Addr().(*net.UDPAddr) }
func (p libutpPeer) Close() error       { return p.s.Close() }

// Crash is Close: libutp's utp_destroy frees its connections without
// sending anything (utp_api.cpp).
func (p libutpPeer) Crash() error { return p.s.Close() }

func (p libutpPeer) Dial(ctx context.Context, to *net.UDPAddr) (net.Conn, error) {
	return p.s.DialContext(ctx, "udp", to.String())
}

func (p libutpPeer) Accept(ctx context.Context) (net.Conn, error) {
	return acceptCtx(ctx, p.s.Accept)
}
