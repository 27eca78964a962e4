package utp

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// CongestionControl names a congestion controller for WithCongestionControl.
type CongestionControl uint8

const (
	// LEDBATPlusPlus is LEDBAT++ (draft-irtf-iccrg-ledbat-plus-plus): a
	// 60 ms target, slowdowns that let flows sharing a bottleneck share it
	// fairly, and a multiplicative decrease. The default.
	LEDBATPlusPlus CongestionControl = iota
	// LEDBAT is RFC 6817 LEDBAT with libutp's choices (a 100 ms target),
	// the controller BitTorrent's uTP peers run; for comparison and
	// interoperability studies.
	LEDBAT
)

// String returns the controller's name.
func (c CongestionControl) String() string {
	switch c {
	case LEDBATPlusPlus:
		return "LEDBAT++"
	case LEDBAT:
		return "LEDBAT"
	}
	return "CongestionControl(?)"
}

// newController returns the proto.Config constructor for c.
func (c CongestionControl) newController() func(time.Time, int) cc.Controller {
	if c == LEDBAT {
		return func(now time.Time, mss int) cc.Controller {
			return cc.NewLEDBAT(now, cc.LEDBATConfig{MSS: mss})
		}
	}
	return func(now time.Time, mss int) cc.Controller {
		return cc.NewLEDBATPP(now, cc.LEDBATPPConfig{MSS: mss})
	}
}

// WithCongestionControl selects the congestion controller of the Socket's
// connections. Default LEDBATPlusPlus.
func WithCongestionControl(c CongestionControl) SocketOption {
	return func(s *socketConfig) { s.congestion = c }
}

// WithReceiverYield turns receiver-side yielding on or off: while on, a
// connection bounds the window it advertises by the one-way delay of the
// data it receives (rLEDBAT, RFC 9840), so that a download stays below
// the queuing-delay target even from a sender that ignores delay. A sender
// that holds the delay down itself is not limited: the bound starts only
// once the delay shows a sender that does not yield, and until then the
// advertised window opens with the data (ten packets plus twice the bytes
// received, as Linux's receive window grows), which no sender whose window
// grows by the bytes acknowledged meets. Default on.
func WithReceiverYield(on bool) SocketOption {
	return func(s *socketConfig) { s.noYield = !on }
}
