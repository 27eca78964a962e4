package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/inet256/inet256/client/go/inet256client"
	"github.com/inet256/inet256/pkg/inet256"
	"github.com/inet256/inet256/pkg/inet256mem"

	"github.com/inet256/go-utp/v2/inet256adapter"
)

// openINET256 opens a node on the daemon named by --api or $INET256_API,
// with the key from --key or a fresh one, and a Socket over it.
func (f *netFlags) openINET256() (*endpoint, error) {
	api, from := f.api, "--api"
	if api == "" {
		api, from = inet256client.GetAPIEndpointFromEnv(), "$INET256_API"
		if _, set := os.LookupEnv("INET256_API"); !set {
			from = "the default; set $INET256_API or --api"
		}
	}
	if err := checkAPI(api); err != nil {
		return nil, fail(exitBadAddress, "malformed INET256 API endpoint %q (%s): %v; want unix:///PATH or tcp://HOST:PORT", api, from, err)
	}
	priv, err := keyOrFresh(f.key)
	if err != nil {
		return nil, err
	}
	svc, err := inet256client.NewClient(api)
	if err != nil {
		return nil, fail(exitBadAddress, "malformed INET256 API endpoint %q (%s): want unix:///PATH or tcp://HOST:PORT", api, from)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	node, err := svc.Open(ctx, priv)
	// The daemon answered but would not open the node: over its HTTP
	// API that is all it says ("error opening node 500 ..."), and what
	// makes it refuse is a key in use (its own node's, or another's).
	if err != nil && strings.Contains(err.Error(), "error opening node") {
		return nil, fail(exitBadKey, "this key is already in use: the INET256 daemon at %s refused a node for %s (%s); give another --key",
			api, inet256.NewAddr(priv.Public()).Base64String(), firstLine(err))
	}
	if err != nil {
		return nil, fail(exitNoDaemon, "no INET256 daemon answers at %s (%s: %v); start one with 'inet256 daemon --config FILE' (docs/inet256.md), or use --udp", api, from, firstLine(err))
	}
	ep := nodeEndpoint(node, func() {
		node.Close()
		// The HTTP client under Drop ignores its context once the
		// request is written: a hung daemon would hold us forever, so
		// wait for it only as long as the context says.
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer dcancel()
		dropped := make(chan struct{})
		go func() {
			svc.Drop(dctx, priv)
			close(dropped)
		}()
		select {
		case <-dropped:
		case <-dctx.Done():
		}
	})
	ep.api = api
	ep.reach = func(peer net.Addr, name string, timeout time.Duration) error {
		return ep.lookup(node, peer, name, min(timeout, lookupWindow))
	}
	return ep, nil
}

// lookupWindow bounds the search for a peer's key before a dial. The
// reference daemon never answers that it does not know an address: it
// searches until the request is abandoned. A node on the network is
// found within about two beacon periods (beaconnet beacons every
// second), so a few seconds without an answer mean no such node.
const lookupWindow = 5 * time.Second

// lookup asks the daemon for peer's public key until it is found or
// window ends: a daemon-backed node must not send to an address its
// daemon cannot route (that can silently disable the node), and a node
// that joined a moment ago may take a few lookups to be found. It tells
// apart an unknown address (the daemon answered "not found", or it
// searched all the window but is healthy) from a daemon that is gone or
// does not answer at all.
func (e *endpoint) lookup(node inet256.Node, peer net.Addr, name string, window time.Duration) error {
	addr, ok := peer.(inet256.Addr)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	var answer error // the daemon's last "not found", if it gave one
	for ctx.Err() == nil {
		_, err := node.LookupPublicKey(ctx, addr)
		if err == nil {
			return nil
		}
		if dead := e.daemonGone(err); dead != nil {
			return dead
		}
		if ctx.Err() == nil {
			answer = err
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if answer != nil {
		return fail(exitUnreachable, "%s is unreachable: the INET256 daemon at %s knows no node by that address (%s)", name, e.api, firstLine(answer))
	}
	// No answer: the daemon may be searching, or hung; its health
	// check needs no network.
	hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer hcancel()
	if err := daemonHealth(hctx, e.api); err != nil {
		return fail(exitNoDaemon, "the INET256 daemon at %s stopped answering: no lookup came back within %v, and its health check failed (%s)", e.api, window, firstLine(err))
	}
	return fail(exitUnreachable, "%s is unreachable: the INET256 daemon at %s searched for %v and found no node by that address", name, e.api, window)
}

// checkAPI checks the form of a daemon endpoint as inet256http dials it:
// a unix socket path, or a TCP host:port.
func checkAPI(api string) error {
	u, err := url.Parse(api)
	if err != nil {
		return errors.New("not a URL")
	}
	switch u.Scheme {
	case "unix":
		if u.Host+u.Path == "" {
			return errors.New("no socket path")
		}
	case "tcp":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" || (u.Path != "" && u.Path != "/") {
			return errors.New("not tcp://HOST:PORT")
		}
	default:
		return fmt.Errorf("scheme %q", u.Scheme)
	}
	return nil
}

// nodeEndpoint wraps a node in a Socket and the endpoint the commands use.
func nodeEndpoint(node inet256.Node, closeNode func()) *endpoint {
	pc := inet256adapter.NewPacketConn(node)
	s := inet256adapter.NewSocketFrom(pc)
	return &endpoint{
		sock:    s,
		nodeErr: pc.Err,
		failed:  pc.Failed(),
		local:   node.LocalAddr().Base64String(),
		resolve: resolveINET256,
		close: func() {
			s.Close()
			closeNode()
		},
	}
}

func resolveINET256(addr string) (net.Addr, error) {
	a, err := inet256Addr(addr)
	if err != nil {
		return nil, fail(exitBadAddress, "malformed address %q: want an INET256 node address (base64, as 'inet256 addr' prints) or udp://host:port", addr)
	}
	return a, nil
}

func inet256Addr(addr string) (inet256.Addr, error) {
	// Surrounding spaces come from copying an address out of a terminal;
	// the library trims them too.
	return inet256.ParseAddrBase64([]byte(strings.TrimSpace(addr)))
}

// inet256MemPair makes two nodes on an in-process INET256 network.
func inet256MemPair() (*endpoint, *endpoint, error) {
	svc := inet256mem.New(inet256mem.WithQueueLen(1024))
	open := func() (*endpoint, error) {
		priv, err := keyOrFresh("")
		if err != nil {
			return nil, err
		}
		node, err := svc.Open(context.Background(), priv)
		if err != nil {
			return nil, fail(exitFailure, "opening an in-memory node: %v", err)
		}
		return nodeEndpoint(node, func() { node.Close() }), nil
	}
	a, err := open()
	if err != nil {
		return nil, nil, err
	}
	b, err := open()
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		s = pe.Err.Error()
	}
	return s
}
