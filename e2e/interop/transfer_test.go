package interop

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// roles names who dials.
var roles = []struct {
	name   string
	weDial bool
}{{"we_dial", true}, {"they_dial", false}}

func ourOpts(k peerKind) []utp.SocketOption {
	var opts []utp.SocketOption
	if k.packetSize > 0 {
		opts = append(opts, utp.WithPacketSize(k.packetSize))
	}
	return append(opts, k.acceptOpts()...)
}

// acceptOpts are the options our acceptor needs for k's dialer.
func (k peerKind) acceptOpts() []utp.SocketOption {
	if k.silentDialer {
		return []utp.SocketOption{utp.WithEarlyAccept()}
	}
	return nil
}

// TestTransfer: the handshake completes in both roles and a bulk transfer
// both ways at once on one connection arrives byte-exact, with EOF after
// the last byte on both ends.
func TestTransfer(t *testing.T) {
	for _, k := range peerKinds {
		for _, r := range roles {
			t.Run(k.name+"/"+r.name, func(t *testing.T) {
				size := scaled(k.bulk)
				if *full {
					size = fullSize
				}
				ctx := testCtx(t, 60*time.Second)
				if *full {
					ctx = testCtx(t, 10*time.Minute)
				}
				us := listenOurs(t, ourOpts(k)...)
				p := newPeer(t, k)
				pr := connect(t, ctx, us, p, r.weDial, direct(us, p))
				res := exchange(t, ctx, pr, size)
				st := pr.ours.Stats()
				t.Logf("%s, %s: %s; our retransmits %d, timeouts %d", k.name, r.name, res, st.Retransmits, st.Timeouts)
			})
		}
	}
}
