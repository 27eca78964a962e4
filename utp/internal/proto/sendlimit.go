package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// The send-limit chronograph says what held the sender back between
// steps, as Linux's TCP_INFO chrono counters do (tcpi_busy_time,
// tcpi_rwnd_limited, tcpi_sndbuf_limited): when a flow moves less than
// its window allows, these tell the pacer from the congestion window, the
// peer's window and a writer that does not keep up. A step that ends with
// nothing more to send (PollTransmit returning false) classifies the
// cause holding the sender; when it differs from the one before, the time
// since that one began is added to its counter. So a spurious
// HandleTimeout changes no counter, and the counters cover the time up to
// the last change of cause.

// sendLimit is what holds the sender back at the end of a step.
type sendLimit uint8

const (
	limitNone   sendLimit = iota // not yet classified, or a cause not counted (Nagle, silly window, a full sequence space)
	limitApp                     // nothing waits to be sent
	limitPacing                  // the pacer holds data back
	limitWindow                  // the congestion window is full
	limitPeer                    // the peer's advertised window is full
)

// limitChrono is the cause in force and since when.
type limitChrono struct {
	cause sendLimit
	since time.Time
}

// noteLimit classifies the cause that holds the sender now and, if it
// changed, charges the time since the last change to the cause before.
// It runs when a step has nothing more to send.
func (c *Conn) noteLimit(now time.Time) {
	l := &c.limit
	cause := c.sendLimitNow()
	if cause == l.cause && !l.since.IsZero() {
		return
	}
	if !l.since.IsZero() && now.After(l.since) {
		d := now.Sub(l.since)
		switch l.cause {
		case limitApp:
			c.stats.AppLimited += d
		case limitPacing:
			c.stats.PacingLimited += d
		case limitWindow:
			c.stats.WindowLimited += d
		case limitPeer:
			c.stats.PeerLimited += d
		}
	}
	l.since, l.cause = now, cause
}

// sendLimitNow classifies what holds the sender back now. A full window
// comes before the pacer: the pacer releasing the next packet would not
// send it (and the pacer earns no credit then, pacing.go).
func (c *Conn) sendLimitNow() sendLimit {
	s := &c.snd
	switch {
	case c.state != stateConnected:
		return limitNone
	case !c.wantsToSend():
		return limitApp
	case c.sendWindow()-s.flight < c.segmentPayload()+wire.HeaderSize:
		if s.peerWnd < c.ctrl.Window() {
			return limitPeer
		}
		return limitWindow
	case !c.timers[timerPace].IsZero():
		return limitPacing
	}
	return limitNone
}
