package main

import (
	"net"
	"strings"

	"github.com/spf13/cobra"

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
	cmd.Flags().StringVar(&f.api, "api", "", "INET256 daemon API endpoint (default $INET256_API)")
	cmd.Flags().StringVar(&f.key, "key", "", "PEM private key file for the INET256 node (default: a fresh key)")
	cmd.Flags().StringVar(&f.bind, "bind", "", "local UDP address to bind (default 0.0.0.0:0; listen defaults to :7777)")
}

// endpoint is an open Socket with what the command needs to print.
type endpoint struct {
	sock  *utp.Socket
	local string // this side's address, as a peer would type it
	// resolve parses a peer address in the endpoint's address family.
	resolve func(string) (net.Addr, error)
	close   func()
}

// isUDP reports whether addr names a UDP peer: "udp://host:port", or any
// address when --udp is given.
func (f *netFlags) isUDP(addr string) bool {
	return f.udp || strings.HasPrefix(addr, "udp://")
}

// openUDP opens a UDP Socket bound to bind.
func openUDP(bind string, opts ...utp.SocketOption) (*endpoint, error) {
	s, err := utp.Listen("udp", bind, opts...)
	if err != nil {
		return nil, fail(exitFailure, "cannot listen on UDP %s: %v", bind, err)
	}
	return &endpoint{
		sock:    s,
		local:   "udp://" + s.Addr().String(),
		resolve: resolveUDP,
		close:   func() { s.Close() },
	}, nil
}

func resolveUDP(addr string) (net.Addr, error) {
	hostport := strings.TrimPrefix(addr, "udp://")
	a, err := net.ResolveUDPAddr("udp", hostport)
	if err != nil || a.Port == 0 {
		return nil, fail(exitBadAddress, "malformed UDP address %q: want host:port or udp://host:port", addr)
	}
	return a, nil
}

// open opens the endpoint the flags and the peer address ask for: UDP if
// the address (or --udp) says so, INET256 otherwise.
func (f *netFlags) open(peer string, listening bool) (*endpoint, error) {
	if f.isUDP(peer) {
		bind := f.bind
		if bind == "" {
			bind = "0.0.0.0:0"
			if listening {
				bind = ":7777"
			}
		}
		return openUDP(strings.TrimPrefix(bind, "udp://"))
	}
	return f.openINET256()
}
