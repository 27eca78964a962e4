package cc

import "time"

// Ack is what one acknowledgement tells a controller.
type Ack struct {
	// Now is when the acknowledgement was processed.
	Now time.Time
	// AckedBytes is the number of bytes newly acknowledged by this ACK,
	// cumulatively and selectively. Zero for a duplicate ACK.
	AckedBytes int
	// FlightBefore is the number of bytes in flight just before this ACK
	// was applied (RFC 6817 2.4.2 "flightsize").
	FlightBefore int
	// Delay is the one-way delay sample in microseconds: the ACK's
	// timestamp_difference field (BEP 29). It includes the unknown offset
	// between the two clocks and wraps at 2^32, so only differences between
	// samples are meaningful.
	Delay uint32
	// HasDelay is false when the peer sent timestamp_difference 0, which
	// BEP 29 uses to mean "no sample yet".
	HasDelay bool
	// RTT is the current smoothed round-trip time, or 0 if unknown.
	RTT time.Duration
}

// Controller decides how many bytes may be in flight. LEDBATPP (the
// default), LEDBAT and Reno implement it; other algorithms can implement it
// without changing callers.
//
// A Controller is not safe for concurrent use; the connection that owns it
// serialises calls.
type Controller interface {
	// OnAck applies one acknowledgement.
	OnAck(a Ack)
	// OnLoss reports packet loss detected by duplicate ACKs, SACK or time
	// (RACK). The caller reports one loss per recovery episode: it calls
	// OnLoss when the first packet is declared lost and not again until
	// everything sent before that moment has been acknowledged (RFC 6675's
	// RecoveryPoint), so an implementation need not filter repeated calls
	// by time; LEDBAT still also decreases at most once per rtt.
	OnLoss(now time.Time, rtt time.Duration)
	// OnSpuriousLoss reports that the loss reported by the latest OnLoss
	// was not one: every packet it declared lost was delivered after all
	// (reordering or a delay spike; the connection judges it from the
	// timestamps the peer echoes, see docs/protocol.md "Loss recovery").
	// The controller undoes that reduction, restoring the window, the
	// slow-start threshold and the slow-start state it had just before
	// the OnLoss (RFC 4015's response, Linux's tcp_undo_cwnd_reduction).
	// It must do nothing if OnTimeout was called since that OnLoss, or if
	// that OnLoss did not reduce the window; a second call does nothing.
	OnSpuriousLoss(now time.Time)
	// OnTimeout reports a retransmission timeout; the window falls to the
	// floor.
	OnTimeout(now time.Time)
	// OnPeerDelay reports the one-way delay we measured of a packet from
	// the peer, in microseconds: the value we send back as
	// timestamp_difference. It is used to compensate for clock drift.
	OnPeerDelay(now time.Time, sample uint32)
	// Window returns the congestion window in bytes, never below the
	// configured floor.
	Window() int
	// QueuingDelay returns the latest filtered queuing-delay estimate, or 0
	// if there is none. It is informational (statistics, logging).
	QueuingDelay() time.Duration
	// InSlowStart reports whether the controller is in slow start.
	InSlowStart() bool
}

// TimeoutUndoer is implemented by controllers that can undo a
// retransmission timeout the connection found spurious: the ACK that
// followed it acknowledged a transmission sent before it fired (the
// sender was descheduled, or the path stalled, for longer than the RTO;
// RFC 5682's F-RTO and RFC 3522's Eifel detection find the same). The
// controller restores the window, slow-start threshold and phase it had
// just before the first OnTimeout since its latest OnAck (RFC 4015's
// response); it does nothing after an OnAck, or if there was no timeout.
type TimeoutUndoer interface {
	OnSpuriousTimeout(now time.Time)
}

// LossCounter is implemented by controllers that weigh losses by their
// number, not only by the episodes OnLoss reports: the connection calls
// OnPacketsLost for every packet it declares lost, once per packet.
// LEDBATPP uses it to tell random loss from a policer.
type LossCounter interface {
	OnPacketsLost(n int)
}
