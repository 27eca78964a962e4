package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// peerDelayCounter is a fixed window that counts the one-way delay
// samples of the peer's packets it is given.
type peerDelayCounter struct {
	fixedWindow
	samples int
}

func (w *peerDelayCounter) OnPeerDelay(time.Time, uint32) { w.samples++ }

// uTP's DSACK (dupecho.go): a duplicate DATA is answered at once by an
// ACK whose timestamp less its timestamp_difference is, exactly, the
// duplicate's timestamp; the duplicate's delay, which includes however
// long it was held back, is not fed to our own controller; and the next
// packet received takes the echo back.
func TestScriptDuplicateEchoedExactly(t *testing.T) {
	w := &peerDelayCounter{fixedWindow: fixedWindow{wnd: 1 << 20}}
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) {
		c.NewController = func(time.Time, int) cc.Controller { return w }
	}))
	held := micros(tc.now) // the original's stamp
	tc.peerData(tc.p(0), "a")
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("delayed ACK", pkt{typ: wire.State, ack: u16(tc.p(0))})
	samples := w.samples
	tc.advance(40 * time.Millisecond)
	h := tc.peerHeader(wire.Data, tc.p(0), tc.peerAckNr)
	h.Timestamp = held // a copy of the original, held back 50 ms
	tc.writePacket(h, "a")
	got := tc.wantPacket("duplicate acknowledged at once", pkt{typ: wire.State, ack: u16(tc.p(0))})
	if echo := got.h.Timestamp - got.h.TimestampDiff; echo != held {
		t.Fatalf("the duplicate's ACK echoes %d, want its timestamp %d", echo, held)
	}
	if w.samples != samples {
		t.Fatalf("the duplicate's delay reached the controller (%d samples, want %d)", w.samples, samples)
	}
	tc.advance(time.Millisecond)
	arrived := micros(tc.now)
	stamp := arrived - 7000 // 7 ms of one-way delay
	h = tc.peerHeader(wire.Data, tc.p(1), tc.peerAckNr)
	h.Timestamp = stamp
	tc.writePacket(h, "b")
	tc.advance(tc.conn.cfg.AckDelay)
	got = tc.wantPacket("the next packet's ACK", pkt{typ: wire.State, ack: u16(tc.p(1))})
	if got.h.TimestampDiff != arrived-stamp {
		t.Fatalf("after a newer packet the ACK carries timestamp_difference %d, want its delay %d", got.h.TimestampDiff, arrived-stamp)
	}
}

// uTP's DSACK, the sender's side: when a packet's retransmission is
// acknowledged first, the episode is judged real, but an ACK that later
// echoes the original's first send exactly proves it delivered, and once
// every packet the episode declared lost is proven so, the reduction is
// undone (RFC 3708 with RFC 4015's response). Anything else, an echo one
// microsecond off or the same echo twice, changes nothing.
func TestScriptLateUndoByDuplicateEcho(t *testing.T) {
	for _, tt := range []struct {
		name   string
		echoes []time.Duration // offsets from the first send echoed, in order
		undos  int
		proven uint64
	}{
		{"both originals arrive", []time.Duration{0, 0}, 1, 2},
		{"one original arrives", []time.Duration{0}, 0, 1},
		{"the same echo replayed", []time.Duration{0, 0, 0}, 1, 2},
		{"forged, one microsecond off", []time.Duration{time.Microsecond, -time.Microsecond}, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc, w, first, chunks := lossEpisode(t, 6, 2, 3, 4, 5)
			resent := tc.wantPacket("first hole", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]}).at
			tc.wantPacket("second hole", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: chunks[1]})
			tc.advance(scriptHandshakeRTT * 3 / 4)
			tc.ackEchoing(tc.s(5), resent) // the retransmissions arrived first
			if w.undos != 0 {
				t.Fatalf("undone on the retransmissions' ACK")
			}
			delays := tc.conn.Stats().DelaySamples
			for _, d := range tt.echoes {
				tc.advance(5 * time.Millisecond)
				tc.ackEchoing(tc.s(5), first.Add(d))
			}
			st := tc.conn.Stats()
			if w.losses != 1 || w.undos != tt.undos || st.SpuriousRecoveries != uint64(tt.undos) {
				t.Fatalf("losses %d, undos %d, SpuriousRecoveries %d; want 1, %d, %d", w.losses, w.undos, st.SpuriousRecoveries, tt.undos, tt.undos)
			}
			if st.DuplicateEchoes != tt.proven || st.DelaySamples != delays {
				t.Fatalf("DuplicateEchoes %d, DelaySamples +%d; want %d and +0", st.DuplicateEchoes, st.DelaySamples-delays, tt.proven)
			}
			if widened := tc.conn.rec.reordering; widened != (tt.proven > 0) {
				t.Fatalf("reordering seen %v after %d proven duplicates", widened, tt.proven)
			}
			tc.wantIdle("an echo sends nothing")
		})
	}
}
