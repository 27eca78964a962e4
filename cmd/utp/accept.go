package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/inet256/go-utp/v2/utp"
)

// acceptor hands a listening command (listen, recv) the connections it
// serves: only from the --from addresses when given, and, unless --keep,
// only the first; later ones are turned away at once instead of waiting
// in the backlog for a command that will never read them.
type acceptor struct {
	ep    *endpoint
	allow []net.Addr                    // empty: anyone
	turn  func(c *utp.Conn, why string) // says no to c and closes it
}

// newAcceptor parses the --from addresses in ep's address family.
func newAcceptor(ep *endpoint, from []string, turn func(*utp.Conn, string)) (*acceptor, error) {
	a := &acceptor{ep: ep, turn: turn}
	for _, f := range from {
		addr, err := ep.resolve(f)
		if err != nil {
			return nil, fail(exitBadAddress, "--from: %v", err)
		}
		a.allow = append(a.allow, addr)
	}
	return a, nil
}

// next returns the next connection from an allowed peer.
func (a *acceptor) next() (*utp.Conn, error) {
	for {
		c, err := a.ep.sock.AcceptUTP()
		if err != nil {
			return nil, err
		}
		if a.permits(c.RemoteAddr()) {
			return c, nil
		}
		fmt.Fprintf(os.Stderr, "turned away %s: not a --from address\n", c.RemoteAddr())
		go a.turn(c, "denied")
	}
}

// turnAwayRest turns away every later connection, until the Socket
// closes.
func (a *acceptor) turnAwayRest() {
	go func() {
		for {
			c, err := a.ep.sock.AcceptUTP()
			if err != nil {
				return
			}
			go a.turn(c, "busy")
		}
	}()
}

func (a *acceptor) permits(peer net.Addr) bool {
	if len(a.allow) == 0 {
		return true
	}
	for _, want := range a.allow {
		if sameAddr(want, peer) {
			return true
		}
	}
	return false
}

// sameAddr compares a --from address with a peer's: node addresses
// exactly; UDP by IP (an IPv4-mapped IPv6 address as IPv4) and port (a
// sender chooses its port with --bind).
func sameAddr(want, peer net.Addr) bool {
	w, ok1 := want.(*net.UDPAddr)
	p, ok2 := peer.(*net.UDPAddr)
	if ok1 && ok2 {
		return netip.AddrPortFrom(w.AddrPort().Addr().Unmap(), w.AddrPort().Port()) ==
			netip.AddrPortFrom(p.AddrPort().Addr().Unmap(), p.AddrPort().Port())
	}
	return want.String() == peer.String()
}
