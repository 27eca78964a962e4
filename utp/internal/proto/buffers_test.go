package proto

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// heldBytes is the memory a Conn holds: the struct and every buffer it
// owns.
func (c *Conn) heldBytes() int {
	n := int(unsafe.Sizeof(*c))
	n += cap(c.snd.ring.buf) + cap(c.rcv.ring.buf) + cap(c.rcv.sackBuf) + len(c.synReply)
	n += cap(c.snd.out) * int(unsafe.Sizeof(outPacket{}))
	n += cap(c.rcv.reorder) * int(unsafe.Sizeof(reorderSlot{}))
	for i := range c.rcv.reorder {
		n += cap(c.rcv.reorder[i].data)
	}
	return n
}

// Issue 17: buffers grow with the path and shrink back when the
// connection idles; an idle connection holds at most 16 KiB, whatever it
// carried before.
func TestIdleConnectionShrinks(t *testing.T) {
	link := netsim.LinkConfig{Delay: 20 * time.Millisecond, Rate: 50e6, QueueBytes: 250 << 10, Loss: 0.001}
	spec := pairSpec{seed: 1718, link: link, aToB: 16 << 20, bToA: 1 << 20, aCloseDelay: time.Hour, bCloseDelay: time.Hour}
	p := newPair(t, spec)
	done := func() bool { return p.b.readCount < spec.aToB || p.a.readCount < spec.bToA }
	p.sim.RunWhile(done, p.sim.Start().Add(time.Minute))
	if done() {
		t.Fatalf("seed %d: transfer unfinished at %v", spec.seed, p.sim.Elapsed())
	}
	busy := []int{p.a.conn.heldBytes(), p.b.conn.heldBytes()}
	p.sim.RunFor(3 * idleShrinkAfter)
	for i, e := range []*endpoint{p.a, p.b} {
		if e.failure != "" || e.conn.Closed() {
			t.Fatalf("seed %d: %s: %s, closed %v", spec.seed, e.name, e.failure, e.conn.Closed())
		}
		held := e.conn.heldBytes()
		t.Logf("%s: %d bytes held at the end of the transfer, %d idle", e.name, busy[i], held)
		if held > 16<<10 {
			t.Errorf("seed %d: %s holds %d bytes idle, want at most 16 KiB", spec.seed, e.name, held)
		}
	}
	if busy[0] < 64<<10 {
		t.Errorf("seed %d: the sender held only %d bytes at its peak; the test shows nothing", spec.seed, busy[0])
	}
}

// A connection in TIME-WAIT gives back the receive buffer as soon as the
// reader empties it, without a timer of its own: TIME-WAIT's end stays its
// only deadline, which an IO layer may serve with a shared timer.
func TestTimeWaitShrinksWithoutTimer(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.closeWrite()
	tc.wantPacket("our FIN", pkt{typ: wire.Fin, seq: u16(tc.s(0))})
	big := strings.Repeat("d", 1000)
	tc.peerData(tc.p(0), big)
	tc.peerFin(tc.p(1))
	tc.peerAck(tc.s(0))
	tc.takeAll()
	if tc.conn.TimeWaitEnd().IsZero() {
		t.Fatal("not in TIME-WAIT")
	}
	tc.wantRead("the peer's data", big)
	if held := tc.conn.heldBytes(); held > 16<<10 || tc.conn.rcv.ring.buf != nil {
		t.Fatalf("%d bytes held, receive ring %d bytes, after the reader emptied it", held, len(tc.conn.rcv.ring.buf))
	}
	if got, want := tc.conn.NextDeadline(), tc.conn.TimeWaitEnd(); !got.Equal(want) {
		t.Fatalf("NextDeadline %v, want TIME-WAIT's end %v", got.Sub(scriptEpoch), want.Sub(scriptEpoch))
	}
}
