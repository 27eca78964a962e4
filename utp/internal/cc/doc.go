// Package cc holds uTP's congestion control and retransmission-timer
// estimation, written sans-IO: nothing here reads a clock, sleeps, starts
// goroutines, locks or touches the network. Every input that depends on
// time carries its own `now`, so the same code runs under the real clock and
// under a simulated one, and every test is deterministic.
//
// The package has these parts:
//
//   - Controller (controller.go) is the interface the connection uses to ask
//     how many bytes may be in flight. It is fed acknowledgements, losses,
//     timeouts and the delay we measure of the peer's packets.
//   - LEDBAT (ledbat.go, delayhist.go, drift.go) implements Controller with
//     Low Extra Delay Background Transport as specified by RFC 6817, using
//     libutp (BitTorrent's reference uTP implementation, the behaviour BEP 29
//     describes) wherever the RFC leaves a choice open: the three-sample
//     current-delay filter, wrapping comparison of 32-bit microsecond delay
//     samples, the slow start that ends at 90% of the target, and clock-drift
//     compensation from the peer's delay history.
//   - LEDBATPP (ledbatpp.go) implements Controller with LEDBAT++
//     (draft-irtf-iccrg-ledbat-plus-plus), the default: a 60 ms target,
//     slowdowns that let flows sharing a bottleneck re-measure the base
//     delay, a multiplicative decrease and a modified slow start.
//   - RLEDBAT (rledbat.go) is the receiver's side (rLEDBAT, RFC 9840): a
//     window to advertise, computed from the delay of the peer's packets.
//   - Reno (reno.go) implements Controller with TCP Reno's loss-based AIMD
//     (RFC 5681) and ignores delay: the TCP flow a LEDBAT flow must yield
//     to, for the simulator.
//   - RTTEstimator (rtt.go) computes the retransmission timeout as RFC 6298
//     specifies, with a documented lower minimum.
//
// Further controllers can be added by implementing Controller; callers
// depend on the interface only.
package cc
