package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/inet256/go-utp/v2/inet256adapter"
	"github.com/inet256/go-utp/v2/utp"
)

// netFlags are the flags every networking command shares.
type netFlags struct {
	udp  bool
	api  string
	key  string
	bind string
}

func (f *netFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.udp, "udp", false, "addresses are UDP host:port, not INET256 node addresses")
	cmd.Flags().StringVar(&f.api, "api", "", "INET256 daemon API endpoint, unix:///PATH or tcp://HOST:PORT (default $INET256_API)")
	cmd.Flags().StringVar(&f.key, "key", "", "PEM private key file for the INET256 node (default: a fresh key)")
	cmd.Flags().StringVar(&f.bind, "bind", "", "local UDP address to bind (default 0.0.0.0:0; listen defaults to :7777)")
}

// endpoint is an open Socket with what the command needs to print.
type endpoint struct {
	sock  *utp.Socket
	local string // this side's address, as a peer would type it
	// resolve parses a peer address in the endpoint's address family.
	resolve func(string) (net.Addr, error)
	// reach, if set, finds out whether a peer can be reached before a
	// dial sends to it (INET256: the daemon must know the address),
	// within timeout; its error is the command's, naming the peer as name.
	reach func(peer net.Addr, name string, timeout time.Duration) error
	// nodeErr, if set, says why the INET256 node under the Socket failed
	// (its daemon went away), or nil.
	nodeErr func() error
	// failed, if set, is closed when that node fails.
	failed <-chan struct{}
	close  func()
	once   sync.Once
	// api is the daemon's endpoint, for an INET256 node ("" for UDP).
	api string
}

// acceptError words a failed Accept, which we did not cause: over INET256
// the node's daemon went away.
func (e *endpoint) acceptError(err error) error {
	if e.api != "" {
		return fail(exitNoDaemon, "the INET256 daemon at %s stopped answering (%s)", e.api, firstLine(err))
	}
	return fail(exitFailure, "accept: %v", err)
}

// daemonGone returns the command's error if the node's state, or err
// from a call to the daemon (nil when the error came from elsewhere, a
// connection), says that the INET256 daemon went away; otherwise nil.
func (e *endpoint) daemonGone(err error) error {
	if e.api == "" {
		return nil
	}
	cause := e.nodeErr()
	if cause == nil && isTransportFailure(err) {
		cause = err
	}
	if cause == nil {
		return nil
	}
	var silent *inet256adapter.PeerSilentError
	if errors.As(cause, &silent) {
		// The daemon is alive: it dropped our node for writing to a peer
		// that went away (inet256adapter.PeerSilentError).
		return fail(exitUnreachable, "the peer %s had not answered for %v when the INET256 daemon at %s dropped this node for writing to it: the peer's node or daemon went away",
			silent.Peer, silent.Silence.Round(100*time.Millisecond), e.api)
	}
	return fail(exitNoDaemon, "the INET256 daemon at %s stopped answering (%s)", e.api, firstLine(cause))
}

// isTransportFailure reports whether err means the node's stream to its
// daemon broke: the daemon died, or the node was closed under us.
func isTransportFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return errors.Is(err, inet256adapter.ErrNodeFailed) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ENOENT) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Close closes the Socket (resetting its connections) and what is under
// it. It may be called more than once, also from another goroutine (an
// interrupt).
func (e *endpoint) Close() { e.once.Do(e.close) }

// isUDP reports whether addr names a UDP peer: "udp://host:port", or any
// address when --udp is given.
func (f *netFlags) isUDP(addr string) bool {
	return f.udp || strings.HasPrefix(strings.TrimSpace(addr), "udp://")
}

// openUDP opens a UDP Socket bound to bind (host:port, already checked).
func openUDP(bind string, opts ...utp.SocketOption) (*endpoint, error) {
	s, err := utp.Listen("udp", bind, opts...)
	if err != nil {
		return nil, fail(exitFailure, "cannot listen on UDP %s: %v", bind, netReason(err))
	}
	return &endpoint{
		sock:    s,
		local:   "udp://" + s.Addr().String(),
		resolve: resolveUDP,
		close:   func() { s.Close() },
	}, nil
}

// resolveUDP parses a UDP peer address: host:port or udp://host:port,
// with a port other than 0.
func resolveUDP(addr string) (net.Addr, error) {
	a, err := net.ResolveUDPAddr("udp", strings.TrimPrefix(strings.TrimSpace(addr), "udp://"))
	if err == nil && a.Port == 0 {
		err = errors.New("port 0")
	}
	if err != nil {
		if unresolved(err) {
			return nil, fail(exitUnreachable, "cannot resolve the host of %q: %s", addr, netReason(err))
		}
		return nil, fail(exitBadAddress, "malformed UDP address %q (%s): want host:port or udp://host:port", addr, netReason(err))
	}
	return a, nil
}

// parseBind checks a local UDP address (what it is for: "to listen on",
// "for --bind"): host:port or udp://host:port, where the host may be
// empty and the port 0. It returns the host:port to bind.
func parseBind(addr, what string) (string, error) {
	hostport := strings.TrimPrefix(strings.TrimSpace(addr), "udp://")
	if _, err := net.ResolveUDPAddr("udp", hostport); err != nil {
		if unresolved(err) {
			return "", fail(exitUnreachable, "cannot resolve the host of %q %s: %s", addr, what, netReason(err))
		}
		return "", fail(exitBadAddress, "malformed UDP address %q %s (%s): want host:port or udp://host:port, such as udp://:9000", addr, what, netReason(err))
	}
	return hostport, nil
}

// listenEndpoint opens the endpoint a listening command (listen, recv)
// asks for. Its one optional argument is the UDP address to listen on;
// over INET256 a node listens on its own address, which comes from --key,
// so no address is taken.
func (f *netFlags) listenEndpoint(args []string) (*endpoint, error) {
	bind, what := f.bind, "for --bind"
	if len(args) == 1 {
		if !f.isUDP(args[0]) {
			if _, err := inet256Addr(args[0]); err == nil {
				return nil, fail(exitUsage, "over INET256 a node listens on its own address, which comes from --key: give no address, or udp://HOST:PORT to listen over UDP")
			}
			return nil, fail(exitBadAddress, "malformed address %q to listen on: want udp://HOST:PORT (or HOST:PORT with --udp); over INET256 give none", args[0])
		}
		if f.bind != "" && strings.TrimSpace(f.bind) != strings.TrimSpace(args[0]) {
			return nil, fail(exitUsage, "two addresses to listen on, --bind %s and %s: give one", f.bind, args[0])
		}
		bind, what = args[0], "to listen on"
	}
	if bind == "" && !f.udp {
		return f.openINET256()
	}
	if bind == "" {
		bind = ":7777"
	}
	hostport, err := parseBind(bind, what)
	if err != nil {
		return nil, err
	}
	return openUDP(hostport)
}

// dialEndpoint checks the peer address addr and --bind, then opens an
// endpoint in addr's family and resolves addr there. Every address is
// checked before any socket is opened or daemon asked.
func (f *netFlags) dialEndpoint(addr string) (*endpoint, net.Addr, error) {
	if !f.isUDP(addr) {
		raddr, err := resolveINET256(addr)
		if err != nil {
			return nil, nil, err
		}
		if f.bind != "" {
			return nil, nil, fail(exitUsage, "--bind is for UDP; an INET256 node is reached through the daemon (--api)")
		}
		ep, err := f.openINET256()
		if err != nil {
			return nil, nil, err
		}
		return ep, raddr, nil
	}
	raddr, err := resolveUDP(addr)
	if err != nil {
		return nil, nil, err
	}
	bind := "0.0.0.0:0"
	if f.bind != "" {
		if bind, err = parseBind(f.bind, "for --bind"); err != nil {
			return nil, nil, err
		}
	}
	ep, err := openUDP(bind)
	if err != nil {
		return nil, nil, err
	}
	return ep, raddr, nil
}

// unresolved reports whether err is a well-formed host name that did
// not resolve, which is not a malformed address.
func unresolved(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

// netReason is the innermost message of a net package error ("missing
// port in address", "no such host"), without the address it repeats.
func netReason(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return firstLine(oe.Err)
	}
	return firstLine(err)
}
