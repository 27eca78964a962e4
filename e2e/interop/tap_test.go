package interop

import (
	"encoding/binary"
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/e2e/relay"
	"github.com/inet256/go-utp/v2/utp"
)

var trace = flag.Bool("interop.trace", false, "log every uTP packet that crosses a relay")

// newRelay starts a relay between our Socket (side A) and the peer (B).
func newRelay(t *testing.T, us *utp.Socket, p peer, cfg relay.Config) (*relay.Relay, route) {
	t.Helper()
	r, err := relay.New(udpAddr(us.Addr()).AddrPort(), p.Addr().AddrPort(), cfg)
	must(t, "start relay", err)
	t.Cleanup(func() { r.Close() })
	return r, route{toPeer: r.Addr(), toUs: r.Addr()}
}

// uTP packet types (BEP 29), as the first header byte's high nibble.
const (
	stData  = 0
	stFin   = 1
	stState = 2
	stReset = 3
	stSyn   = 4
)

var typeNames = [...]string{"DATA", "FIN", "STATE", "RESET", "SYN"}

// utpType returns the type of a uTP datagram; ok is false for anything
// else.
func utpType(b []byte) (typ int, ok bool) {
	if len(b) < 20 || b[0]&0x0f != 1 || b[0]>>4 > stSyn {
		return 0, false
	}
	return int(b[0] >> 4), true
}

func isType(typ int) func(b []byte) bool {
	return func(b []byte) bool {
		got, ok := utpType(b)
		return ok && got == typ
	}
}

// tap counts the uTP packets crossing the relay by direction and type.
type tap struct {
	t            *testing.T // for -interop.trace
	start        time.Time
	toPeer, toUs [5]atomic.Int64
}

func (tp *tap) count(dir *[5]atomic.Int64, next func([]byte) bool) func([]byte) bool {
	return func(b []byte) bool {
		typ, ok := utpType(b)
		if ok {
			dir[typ].Add(1)
		}
		drop := next != nil && next(b)
		if *trace && ok && tp.t != nil {
			who := "to peer"
			if dir == &tp.toUs {
				who = "to us  "
			}
			tp.t.Logf("%8.3fms %s %-5s id %5d seq %5d ack %5d len %5d ext %d drop %v", float64(time.Since(tp.start).Microseconds())/1e3, who, typeNames[typ],
				binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint16(b[16:]), binary.BigEndian.Uint16(b[18:]), len(b), b[1], drop)
		}
		return drop
	}
}

func (tp *tap) String() string {
	f := func(dir *[5]atomic.Int64) string {
		s := ""
		for i := range dir {
			s += fmt.Sprintf(" %s:%d", typeNames[i], dir[i].Load())
		}
		return s
	}
	return "to peer" + f(&tp.toPeer) + "; to us" + f(&tp.toUs)
}

// newTappedRelay is newRelay with every datagram counted by type, after
// cfg's own Drop predicates have seen it (a dropped datagram is counted).
func newTappedRelay(t *testing.T, us *utp.Socket, p peer, cfg relay.Config) (*relay.Relay, route, *tap) {
	tp := &tap{t: t, start: time.Now()}
	cfg.AToB.Drop = tp.count(&tp.toPeer, cfg.AToB.Drop)
	cfg.BToA.Drop = tp.count(&tp.toUs, cfg.BToA.Drop)
	r, rt := newRelay(t, us, p, cfg)
	return r, rt, tp
}
