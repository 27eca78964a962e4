package proto

import (
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// A held tail leaves by itself once no Write has come for the push delay
// (nagle.go): a writer that waits on a channel, not on a Read, is not
// seen waiting, and its tail would otherwise wait for the ACK. A Write
// within the delay keeps the tail held: a stream of small writes still
// coalesces.
func TestScriptNaglePushDelay(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	writeFirst(tc, "head")
	tc.write("body")
	tc.wantIdle("the body waits behind the header")
	d := tc.conn.pushDelay()
	tc.advance(d / 2)
	tc.write("more")
	tc.advance(d / 2)
	tc.wantIdle("a Write within the push delay keeps the tail held")
	tc.advance(d / 2)
	tc.wantPacket("quiet for the push delay: the tail goes", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "bodymore"})
	tc.write("x")
	tc.wantIdle("what is written after the push is held again")
	tc.advance(d)
	tc.wantPacket("and goes after the push delay", pkt{typ: wire.Data, seq: u16(tc.s(2)), payload: "x"})
}
