package inet256adapter

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/inet256/inet256/pkg/inet256"

	"github.com/inet256/go-utp/v2/utp"
)

// NewSocket returns a uTP Socket over node, which it owns: closing the
// Socket closes the node. Packets carry DefaultPacketSize bytes of payload
// toward a peer that reads that much (WithMaxMessage), and a connection
// keeps at most DefaultWindow of them unacknowledged (WithWindow). If the
// node fails (its daemon goes away), the Socket closes at once, so that
// Accept, Read and Write return an error matching both net.ErrClosed and
// ErrNodeFailed instead of waiting for uTP's timeouts; Socket.Done and
// Socket.Err tell it too.
func NewSocket(node inet256.Node, opts ...Option) *utp.Socket {
	return NewSocketFrom(NewPacketConn(node, opts...))
}

// NewSocketFrom is NewSocket over a PacketConn the caller keeps, to read
// its Stats. The Socket owns pc and is configured by the options pc was
// made with. Call it at most once per PacketConn.
func NewSocketFrom(pc *PacketConn) *utp.Socket {
	// A failed node fails ReadFrom with an error that is neither an errno
	// nor temporary: the Socket closes itself with it at once.
	return utp.NewSocket(pc, pc.cfg.socketOptions()...)
}

// Listen returns a Socket over node for a server: it is NewSocket as a
// net.Listener. Accept returns *utp.Conn values; their RemoteAddr is the
// peer's inet256.Addr.
func Listen(node inet256.Node, opts ...Option) net.Listener {
	return NewSocket(node, opts...)
}

// Dial opens a uTP connection from node to addr, given in the base64 form
// of an INET256 address (ParseAddr). It is for a program that uses node
// for this one connection: Dial makes a Socket that owns node, and closing
// the returned Conn closes them both once the connection has finished
// (see Conn.Close); if Dial fails, it closes them at once. To make several
// connections, or also accept, use NewSocket and Socket.DialContext.
//
// The peer's public key is looked up first, and again until it is found
// or ctx ends: an address that is not on the network fails with an
// *UnreachableError whose cause is ctx's error.
func Dial(ctx context.Context, node inet256.Node, addr string, opts ...Option) (*Conn, error) {
	dst, err := ParseAddr(addr)
	if err != nil {
		node.Close()
		return nil, &net.OpError{Op: "dial", Net: "inet256", Source: node.LocalAddr(), Err: err}
	}
	pc := NewPacketConn(node, opts...)
	if err := pc.Resolve(ctx, dst); err != nil {
		pc.Close()
		return nil, pc.opError("dial", dst, err)
	}
	s := NewSocketFrom(pc)
	c, err := s.DialUTP(ctx, dst)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &Conn{Conn: c, s: s, done: make(chan struct{})}, nil
}

// releaseBound bounds how long a Conn made by Dial keeps its Socket after
// Close: the default linger (30 s) plus uTP's TIME-WAIT (16 s) and slack.
const releaseBound = 60 * time.Second

// Conn is a connection made by Dial: a *utp.Conn that owns its Socket and
// node.
type Conn struct {
	*utp.Conn
	s    *utp.Socket
	once sync.Once
	done chan struct{} // closed by release
}

// Close closes the connection as utp.Conn.Close does: it returns at once,
// and what was written is still delivered in the background. Once the
// connection has left the Socket (utp.Conn.Done: delivered and
// acknowledged, reset, or at the latest after a minute) the Socket and
// node are closed; Released reports when.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { go c.release() })
	return err
}

// Released returns a channel that is closed once Close has released the
// Socket and node.
func (c *Conn) Released() <-chan struct{} { return c.done }

// release closes the Socket once the connection has left it, within
// releaseBound.
func (c *Conn) release() {
	defer close(c.done)
	defer c.s.Close()
	t := time.NewTimer(releaseBound)
	defer t.Stop()
	select {
	case <-c.Conn.Done():
	case <-t.C:
	}
}

// ParseAddr parses an INET256 address in its base64 form, the 43
// characters that inet256.Addr.String prints (for example from `inet256
// addr`). Surrounding white space is ignored.
func ParseAddr(s string) (inet256.Addr, error) {
	s = strings.TrimSpace(s)
	// The decoder writes past a 32-byte address given longer input, so the
	// length is checked first.
	if len(s) != addrTextLen {
		return inet256.Addr{}, fmt.Errorf("inet256adapter: %q is not an INET256 address: want %d base64 characters, have %d", s, addrTextLen, len(s))
	}
	a, err := inet256.ParseAddrBase64([]byte(s))
	if err != nil {
		return inet256.Addr{}, fmt.Errorf("inet256adapter: %q is not an INET256 address: %w", s, err)
	}
	return a, nil
}

// addrTextLen is the length of an address's base64 form: 32 bytes, no
// padding.
const addrTextLen = (inet256.AddrSize*8 + 5) / 6
