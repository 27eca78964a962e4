// This file is compiled only into the scratch copy of bench that
// realpath-before.sh makes: it imports the library at an earlier commit
// under a module path of its own (beforelib.invalid), so that the
// real-path scenarios run it beside today's library in one process. Its
// connections report their statistics to the harness through
// realpath.StatsConn, so its window and bytes in flight are plotted too.

package main

import (
	"context"
	"net"
	"os"

	before "beforelib.invalid/utp"

	"github.com/inet256/go-utp/v2/e2e/realpath"
	"github.com/inet256/go-utp/v2/utp"
)

func init() {
	rpBefore.Rev = os.Getenv("UTP_BEFORE_REV")
	rpBefore.Transport = &realpath.Transport{Name: "utp-before", Open: func(addr string) (realpath.Endpoint, error) {
		s, err := before.Listen("udp4", addr)
		if err != nil {
			return nil, err
		}
		return beforeEndpoint{s}, nil
	}}
}

// beforeEndpoint is a Socket of the earlier build.
type beforeEndpoint struct{ *before.Socket }

func (e beforeEndpoint) Accept() (net.Conn, error) {
	c, err := e.AcceptUTP()
	if err != nil {
		return nil, err
	}
	return beforeConn{c}, nil
}

func (e beforeEndpoint) Dial(ctx context.Context, to net.Addr) (net.Conn, error) {
	c, err := e.DialUTP(ctx, to)
	if err != nil {
		return nil, err
	}
	return beforeConn{c}, nil
}

// beforeConn is a connection of the earlier build, reporting the
// statistics that build has in today's shape.
type beforeConn struct{ *before.Conn }

func (c beforeConn) UTPStats() utp.Stats {
	s := c.Stats()
	return utp.Stats{
		Window: s.Window, InFlight: s.InFlight, QueuingDelay: s.QueuingDelay, PeerWindow: s.PeerWindow,
		PacketsSent: s.PacketsSent, PacketsReceived: s.PacketsReceived, Duplicates: s.Duplicates,
		Retransmits: s.Retransmits, FastRetransmits: s.FastRetransmits, Timeouts: s.Timeouts,
		RTT: s.RTT, RTTVar: s.RTTVar, RTO: s.RTO, SlowStart: s.SlowStart,
	}
}
