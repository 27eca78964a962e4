// Package netsim is a deterministic network simulator that runs in virtual
// time, for testing uTP without sockets, goroutines or a wall clock, and a
// net.PacketConn over the same link model for testing the IO layer.
//
// It has three parts:
//
//   - Link models what happens to a packet on one direction of a path:
//     MTU check, a drop-tail bottleneck queue draining at a fixed rate,
//     random loss, propagation delay, jitter, duplication and reordering.
//     A Link never reads a clock: it is told the send time and returns
//     arrival times. That lets the same model be driven by the event queue
//     here, or later by real (or testing/synctest) timers behind a
//     net.PacketConn.
//
//   - Sim decides when things run: a virtual clock and a single event queue
//     ordered by (time, insertion sequence), so simultaneous events run in
//     the order they were scheduled and every run with the same seed makes
//     the same decisions in the same order. Nodes, connected pairwise by
//     Links, exchange datagrams through that queue; Timers are re-armable
//     one-shot events on the same clock.
//
//   - Network and PacketConn put Links behind net.PacketConn on the wall
//     clock (time.Now, time.AfterFunc). Inside a testing/synctest bubble
//     that clock is virtual, so the IO layer's goroutines, deadlines and
//     timers are tested in virtual time too. Link fates are reproducible
//     from the seed; the interleaving of goroutines is not, unlike Sim.
//
// Determinism rules followed throughout Sim: all randomness comes from seeded
// math/rand/v2 PCG streams derived from the Sim's seed, no map is ever
// iterated in the simulation path (maps are used for lookup only), there
// are no goroutines, and nothing reads the wall clock.
//
// The simulator is single-threaded: a Sim, its Nodes, Links and Timers must
// be used from one goroutine (normally the test's). Handlers and scheduled
// functions may call back into the Sim (Send, Schedule, Timer.Reset)
// re-entrantly.
package netsim
