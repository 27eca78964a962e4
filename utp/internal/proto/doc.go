// Package proto is uTP's protocol logic (BEP 29) as a sans-IO state machine:
// one Conn per connection, with no goroutines, clocks, timers, randomness or
// sockets inside.
//
// The contract with the IO layer:
//
//   - Every input takes the current time first: HandlePacket(now, b),
//     HandleTimeout(now), Write(now, p), Read(now, p), CloseWrite(now) and
//     Reset(now). Connection ids and initial sequence numbers are passed in
//     by the caller, which owns the random source.
//   - After every input the caller drains the outputs: PollTransmit(now, buf)
//     until it reports nothing more to send, NextEvent until EventNone, and
//     NextDeadline, which tells when to call HandleTimeout next (zero: no
//     timer). A spurious HandleTimeout is a no-op.
//   - Malformed input is counted and dropped; it never panics and never
//     closes a healthy connection.
//
// Congestion control is delegated to a cc.Controller (LEDBAT++ by default),
// receiver-side yielding to cc.RLEDBAT (rledbat.go) and RTO computation to
// cc.RTTEstimator (RFC 6298).
package proto
