package interop

import "testing"

// roles names who dials.
var roles = []struct {
	name   string
	weDial bool
}{{"we_dial", true}, {"they_dial", false}}

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
				ctx := transferCtx(t)
				us := listenOurs(t)
				p := newPeer(t, k)
				pr := connect(t, ctx, us, p, r.weDial, direct(us, p))
				res := exchange(t, ctx, pr, size)
				st := pr.ours.Stats()
				t.Logf("%s, %s: %s; our retransmits %d, timeouts %d", k.name, r.name, res, st.Retransmits, st.Timeouts)
			})
		}
	}
}
