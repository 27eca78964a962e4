package utp

import "time"

// clock is the time source of a Socket's connections: every step of a
// state machine, and every read that routes datagrams, reads it.
//
// time.Now reads two clocks (the wall clock and the monotonic one), each
// a vDSO call that costs tens of nanoseconds under a hypervisor's clock
// source (kvm-clock), and a ping-pong round trip reads it six times. The
// state machines need only the monotonic reading: their deadlines and
// samples are differences, and the wire's timestamps are differences to
// the peer. So now reads the monotonic clock alone (time.Since of a time
// that carries a monotonic reading does) and adds it to the time the
// Socket was made: the result carries the same monotonic reading as
// time.Now's, so comparisons with times the user made (deadlines) are
// exact; its wall-clock part is the epoch's plus the monotonic time
// since, so it drifts from the system's wall clock only as far as that
// clock is stepped or slewed while the Socket lives, which matters only
// to a deadline made without a monotonic reading (time.Unix, say); the
// wire's timestamps, taken from it, then move with the monotonic clock,
// not with a step of the wall clock (one of 1.4 ms was seen here).
// Inside a synctest bubble time.Since reads the bubble's clock, so now
// then is the bubble's time.
type clock struct {
	epoch time.Time // when the Socket was made, with a monotonic reading
}

func newClock() clock { return clock{epoch: time.Now()} }

// now returns the current time, one monotonic clock read.
func (k *clock) now() time.Time { return k.epoch.Add(time.Since(k.epoch)) }
