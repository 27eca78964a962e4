package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// yieldState is receiver-side yielding (rLEDBAT, RFC 9840, adapted to uTP):
// the window we advertise is bounded by a cc.RLEDBAT fed with the one-way
// delay of the peer's packets, so a download stays polite when the sender
// ignores delay. With a sender that runs LEDBAT itself the bound stays
// above its window (see cc.RLEDBAT): the sender's controller governs and
// the receiver steps in only when the queue it sees exceeds the target.
type yieldState struct {
	ctl *cc.RLEDBAT // nil: off (Config.NoYield)
	// recvd counts payload bytes received; edge is the largest recvd +
	// window we have computed, the right edge of the window in stream
	// bytes. RFC 9840 4.1.1: the window may shrink by no more than what
	// was received since, so the edge never moves back.
	recvd, edge int64
}

func (y *yieldState) init(now time.Time, cfg Config) {
	if cfg.NoYield {
		return
	}
	y.ctl = cc.NewRLEDBAT(now, yieldConfig(cfg))
}

// yieldConfig is the receiver controller's configuration for cfg.
func yieldConfig(cfg Config) cc.RLEDBATConfig {
	return cc.RLEDBATConfig{MSS: cfg.PacketSize + wire.HeaderSize, MaxWindowBytes: cfg.RecvBufferSize}
}

// initialWindow returns the window a new Conn with cfg (defaults applied)
// first advertises: its free receive buffer, bounded by the yielding
// receiver's opening window unless cfg.NoYield.
func initialWindow(cfg Config) int {
	w := max(0, min(cfg.RecvBufferSize, initialRecvSpace))
	if cfg.NoYield {
		return w
	}
	return min(w, cc.InitialRecvWindow(yieldConfig(cfg)))
}

// onPacket feeds one accepted packet: the one-way delay we measured of it,
// the delay of our packets it echoes, and its payload.
func (y *yieldState) onPacket(now time.Time, h *wire.Header, delay uint32, payload int) {
	if y.ctl == nil {
		return
	}
	if h.Timestamp == 0 {
		delay = 0
	}
	y.ctl.OnPacket(now, delay, h.TimestampDiff, payload)
	y.recvd += int64(payload)
}

// bound limits w, the window flow control allows, to the yielding window,
// never moving the right edge back.
func (y *yieldState) bound(w int) int {
	if y.ctl == nil {
		return w
	}
	lim := max(int64(y.ctl.Window()), y.edge-y.recvd)
	w = int(min(int64(w), lim))
	y.edge = max(y.edge, y.recvd+int64(w))
	return w
}
