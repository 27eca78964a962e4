//go:build linux

package realpath

import (
	"net"
	"testing"

	"github.com/inet256/go-utp/v2/utp"
)

// statsPipe is a connection of another build of the library, as bench
// wraps one: it reports its statistics through StatsConn.
type statsPipe struct{ net.Conn }

func (statsPipe) UTPStats() utp.Stats { return utp.Stats{Window: 5000, InFlight: 3000} }

// TestConnStats checks that a flow's trace reads the window and bytes in
// flight of a connection that reports them (StatsConn), and reads none
// from a connection that does not (TCP, libutp, quic-go).
func TestConnStats(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	f := &flow{cc: statsPipe{a}}
	if pt := f.point(0); !pt.Ours || pt.Window != 5000 || pt.InFlight != 3000 {
		t.Errorf("point of a StatsConn: %+v, want Ours, window 5000, in flight 3000", pt)
	}
	f = &flow{cc: b}
	if pt := f.point(0); pt.Ours || pt.Window != 0 {
		t.Errorf("point of a plain connection: %+v, want no statistics", pt)
	}
}
