package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// Every timestamp a Conn sends carries its Config.TimestampOffset: the
// dialer's SYN, the acceptor's reply (from Accept and from SynReply) and
// the reply's timestamp_difference, which would otherwise give our clock
// away as the peer's timestamp plus what it echoes.
func TestTimestampOffsetOnTheWire(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	const offA, offB = 0x9e3779b9, 0x7f4a7c15
	d := Dial(now, Config{TimestampOffset: offA}, 10, 500)
	buf := make([]byte, 2048)
	n, ok := d.PollTransmit(now, buf)
	if !ok {
		t.Fatal("the dialer sent no SYN")
	}
	syn, _, err := wire.Parse(buf[:n])
	if err != nil || syn.Type != wire.Syn || syn.Timestamp != micros(now)+offA {
		t.Fatalf("SYN %+v, %v: want timestamp %d (our clock plus the offset)", syn, err, micros(now)+offA)
	}
	later := now.Add(3 * time.Millisecond)
	a := Accept(later, Config{TimestampOffset: offB}, syn, 900)
	n, ok = a.PollTransmit(later, buf)
	if !ok {
		t.Fatal("the acceptor sent no reply")
	}
	reply, _, _ := wire.Parse(buf[:n])
	want := micros(later) + offB
	if reply.Timestamp != want || reply.TimestampDiff != want-syn.Timestamp {
		t.Fatalf("reply %+v: want timestamp %d and difference %d", reply, want, want-syn.Timestamp)
	}
	if s := SynReply(later, Config{TimestampOffset: offB}, &syn, 900); s.Timestamp != want || s.TimestampDiff != want-syn.Timestamp {
		t.Fatalf("stateless reply %+v: want timestamp %d and difference %d", s, want, want-syn.Timestamp)
	}
}

// A connection behaves the same whatever offsets its ends draw: the same
// seeded transfer over a lossy, reordering path, with both ends' offsets
// zero and then different, ends byte-exact with the same counters on
// both sides (retransmissions, spurious-loss undos, late packets and the
// rest). An echo compared with a send time that lacks the offset would
// take every ACK's echo for a stranger's and change those counts.
func TestTimestampOffsetChangesNothing(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		run := func(offA, offB uint32) (Stats, Stats) {
			link := netsim.LinkConfig{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Rate: 20e6,
				QueueBytes: 200 << 10, Loss: 0.01, Reorder: 0.02}
			spec := pairSpec{seed: seed, link: link, aToB: 2 << 20, bToA: 512 << 10, checkInvar: true,
				onSetup: func(p *pair) {
					p.a.cfg.TimestampOffset, p.b.cfg.TimestampOffset = offA, offB
				}}
			p := newPair(t, spec)
			p.run(5 * time.Minute)
			if err := p.verify(spec); err != nil {
				t.Fatalf("seed %d, offsets %#x and %#x: %v", seed, offA, offB, err)
			}
			return p.a.conn.Stats(), p.b.conn.Stats()
		}
		a0, b0 := run(0, 0)
		a1, b1 := run(0xfffffff0, 0x80000000)
		if a0 != a1 || b0 != b1 {
			t.Errorf("seed %d: the counters moved with the offsets:\ndialer   %+v\n         %+v\nacceptor %+v\n         %+v", seed, a0, a1, b0, b1)
		}
	}
}
