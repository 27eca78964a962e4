package proto

import (
	"bytes"
	"slices"
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
	n += cap(c.rec.unproven) * int(unsafe.Sizeof(uint32(0)))
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

// poisonBuffers is a Buffers that hands out buffers given back before,
// most recent first, after filling them with a poison byte: a ring that
// read bytes it never wrote, or used a buffer after giving it back, would
// show them in a byte-exact transfer. It fails the test on a buffer given
// back twice or never lent.
type poisonBuffers struct {
	t                  testing.TB
	free               [][]byte
	lent               map[*byte]bool
	gets, reused, puts int
}

func (p *poisonBuffers) Get(n int) []byte {
	p.gets++
	for i := len(p.free) - 1; i >= 0; i-- {
		if b := p.free[i]; len(b) == n {
			p.free = slices.Delete(p.free, i, i+1)
			p.reused++
			p.lent[&b[0]] = true
			return b
		}
	}
	b := bytes.Repeat([]byte{0xEE}, n)
	p.lent[&b[0]] = true
	return b
}

func (p *poisonBuffers) Put(b []byte) {
	if !p.lent[&b[0]] {
		p.t.Fatalf("a buffer of %d bytes given back that is not lent (twice?)", len(b))
	}
	delete(p.lent, &b[0])
	p.puts++
	for i := range b {
		b[i] = 0xEE
	}
	p.free = append(p.free, b)
}

// Rings lent by a Buffers go back to it when a connection finishes, and
// may be lent to the next connection: request-response exchanges over a
// lossy path, one after another from one pool, arrive byte-exact, and
// every connection ends holding no ring.
func TestRingsGoBackToBuffers(t *testing.T) {
	pool := &poisonBuffers{t: t, lent: map[*byte]bool{}}
	link := netsim.LinkConfig{Delay: 5 * time.Millisecond, Rate: 20e6, QueueBytes: 64 << 10, Loss: 0.02}
	for seed := uint64(1); seed <= 12; seed++ {
		spec := pairSpec{seed: seed, link: link, aToB: 4 << 10, bToA: 4 << 10, buffers: pool, checkInvar: true}
		if seed%4 == 0 {
			spec.aToB, spec.bToA = 300<<10, 100<<10 // rings grow
		}
		p := newPair(t, spec)
		p.run(5 * time.Minute)
		if err := p.verify(spec); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		p.sim.RunFor(time.Minute) // past TIME-WAIT
		for _, e := range []*endpoint{p.a, p.b} {
			if e.conn.snd.ring.buf != nil || e.conn.rcv.ring.buf != nil {
				t.Errorf("seed %d: %s ended holding rings of %d and %d bytes", seed, e.name, len(e.conn.snd.ring.buf), len(e.conn.rcv.ring.buf))
			}
		}
	}
	t.Logf("%d rings lent (%d of them given back before), %d given back", pool.gets, pool.reused, pool.puts)
	if pool.reused == 0 {
		t.Fatal("no ring was lent twice: the test shows nothing")
	}
}

// In TIME-WAIT the congestion controller gives way to a frozen stand-in
// that keeps what Stats reported, and a retransmitted FIN is still
// answered.
func TestTimeWaitSpendsController(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.closeWrite()
	tc.wantPacket("our FIN", pkt{typ: wire.Fin, seq: u16(tc.s(0))})
	tc.peerFin(tc.p(0))
	before := tc.conn.Stats()
	tc.peerAck(tc.s(0))
	tc.takeAll()
	if tc.conn.TimeWaitEnd().IsZero() {
		t.Fatal("not in TIME-WAIT")
	}
	if _, ok := tc.conn.ctrl.(*spentController); !ok {
		t.Fatalf("controller in TIME-WAIT is %T, want the spent stand-in", tc.conn.ctrl)
	}
	after := tc.conn.Stats()
	if after.Window != before.Window || after.SlowStart != before.SlowStart || after.QueuingDelay != before.QueuingDelay {
		t.Fatalf("Stats changed: window %d, slow start %v, delay %v before; %d, %v, %v after",
			before.Window, before.SlowStart, before.QueuingDelay, after.Window, after.SlowStart, after.QueuingDelay)
	}
	tc.peerFin(tc.p(0)) // our ACK was lost: the peer sends its FIN again
	tc.wantPacket("the ACK of the repeated FIN", pkt{typ: wire.State, ack: u16(tc.p(0))})
}
