package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/inet256/go-utp/v2/utp"
)

func newListenCmd() *cobra.Command {
	var f netFlags
	var from []string
	var keep bool
	cmd := &cobra.Command{
		Use:   "listen [udp://HOST:PORT]",
		Short: "Accept one connection; copy stdin to it and it to stdout",
		Long: `listen waits for one connection, then copies standard input to it and
it to standard output, like netcat. End of standard input half-closes the
connection; utp exits once both directions are done: status 0 on a clean
close, non-zero on error.

Over INET256 it prints this node's address; over UDP (udp://HOST:PORT or
--udp) the address it listens on (default :7777; --bind HOST:PORT says the
same). Connections from other than the --from addresses, and any after the
first, are turned away with a reset, so their dial fails; with --keep,
listen serves one connection after another until it is stopped.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ep, err := f.listenEndpoint(args)
			if err != nil {
				return err
			}
			defer ep.Close()
			acc, err := newAcceptor(ep, from, func(c *utp.Conn, _ string) { c.Abort() })
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "listening on", ep.local)
			for {
				c, err := acc.next()
				if err != nil {
					return ep.acceptError(err)
				}
				if !keep {
					acc.turnAwayRest()
					return netcat(c, ep)
				}
				if err := netcat(c, ep); err != nil {
					fmt.Fprintln(os.Stderr, "utp:", err)
				}
			}
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&keep, "keep", false, "after a connection, accept the next (one at a time; standard input goes to the first)")
	cmd.Flags().StringArrayVar(&from, "from", nil, "accept only this peer address (repeatable)")
	return cmd
}

func newDialCmd() *cobra.Command {
	var f netFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "dial ADDR",
		Short: "Connect to ADDR; copy stdin to it and it to stdout",
		Long: `dial connects to ADDR, an INET256 node address or udp://HOST:PORT, then
copies standard input to the connection and the connection to standard
output. End of standard input half-closes; utp exits once both directions
are done: status 0 on a clean close, non-zero on error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := positive("--timeout", timeout); err != nil {
				return err
			}
			c, ep, err := dialPeer(&f, args[0], timeout)
			if err != nil {
				return err
			}
			defer ep.Close()
			return netcat(c, ep)
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "give up connecting after this long (over INET256, an address the network has not found within 5 s is unreachable)")
	return cmd
}

// dialPeer opens an endpoint for addr and connects to it.
func dialPeer(f *netFlags, addr string, timeout time.Duration) (*utp.Conn, *endpoint, error) {
	ep, raddr, err := f.dialEndpoint(addr)
	if err != nil {
		return nil, nil, err
	}
	if ep.reach != nil {
		if err := ep.reach(raddr, addr, timeout); err != nil {
			ep.Close()
			return nil, nil, err
		}
	}
	c, err := dialWithin(ep.sock, raddr, addr, timeout)
	if err != nil {
		if dead := ep.daemonGone(err); dead != nil {
			err = dead
		}
		ep.Close()
		return nil, nil, err
	}
	return c, ep, nil
}

// dialWithin dials raddr, mapping failures to the CLI's messages, which
// name the peer as the user wrote it.
func dialWithin(s *utp.Socket, raddr net.Addr, name string, timeout time.Duration) (*utp.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := s.DialUTP(ctx, raddr)
	// A dial gives up by itself after its own budget (39 s); a longer
	// --timeout dials again until it is spent.
	for err != nil && errors.Is(err, utp.ErrTimedOut) && ctx.Err() == nil {
		c, err = s.DialUTP(ctx, raddr)
	}
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, utp.ErrTimedOut):
		return nil, fail(exitUnreachable, "%s did not answer within %v", name, timeout)
	case errors.Is(err, utp.ErrConnRefused):
		return nil, fail(exitUnreachable, "%s refused the connection (connection refused: nothing listens there, or its backlog is full)", name)
	}
	return nil, fail(exitUnreachable, "cannot reach %s: %v", name, err)
}

// netcat copies stdin to c (then half-closes) and c to stdout, and waits
// for both. A failure because the INET256 daemon went away says so.
func netcat(c *utp.Conn, ep *endpoint) error {
	err := copyBoth(c)
	if dead := ep.daemonGone(nil); dead != nil && err != nil {
		return dead
	}
	return err
}

// copyBoth is netcat's copying.
func copyBoth(c *utp.Conn) error {
	defer c.Close()
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, os.Stdin)
		if err == nil {
			err = c.CloseWrite()
		}
		sent <- err
	}()
	_, rerr := io.Copy(os.Stdout, c)
	if rerr != nil {
		return fail(exitFailure, "receiving: %v", rerr)
	}
	// Both directions must finish: wait for standard input's end too.
	if err := <-sent; err != nil {
		return fail(exitFailure, "sending: %v", err)
	}
	if err := finish(c, 30*time.Second); err != nil {
		return fail(exitFailure, "the peer did not acknowledge the end of the stream: %v", err)
	}
	return nil
}
