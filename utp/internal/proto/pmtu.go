package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Path MTU discovery: DPLPMTUD, RFC 8899, for a protocol that cannot
// re-packetize. A sequence number's payload is fixed once sent, so a probe
// carries no data: it is an empty DATA packet padded to the probe size
// (wire.PutPadded), with a sequence number of its own so that the peer's
// ACK (cumulative or selective) confirms it. A lost probe is resent
// unpadded, as the empty packet it is, and its loss never reaches the
// congestion controller (RFC 8899 section 3, item 7; libtorrent likewise
// spares its window when an MTU probe is lost, utp_stream.cpp).
//
// Sizes here are datagram sizes: the UDP payload, uTP header included.

const (
	// pmtuTolerance ends a search once the largest size that may still
	// pass is this close to the confirmed one (quic-go stops at 20 bytes).
	pmtuTolerance = 20
	// pmtuMaxProbes is RFC 8899's MAX_PROBES (section 5.1.2): a size is
	// given up after this many rounds in which its probe was lost while
	// other packets were lost too (congestion, not the size, may explain
	// it). A probe lost while every other packet got through fails at once.
	pmtuMaxProbes = 3
	// pmtuRaiseTimer is RFC 8899's PMTU_RAISE_TIMER (section 5.1.1): how
	// long a finished search rests before it probes for more.
	pmtuRaiseTimer = 600 * time.Second
	// pmtuBlackHoleRTOs consecutive retransmission timeouts with
	// full-size packets outstanding are taken as a black hole
	// (RFC 8899 section 4.3): the path shrank under us.
	pmtuBlackHoleRTOs = 2
	// pmtuTrailing is how many full packets the window must hold beside
	// a probe before it is sent.
	pmtuTrailing = 3
	// pmtuRoundProbes bounds the probes of one round.
	pmtuRoundProbes = 6
	// maxUDPPayload is the largest UDP payload over IPv4 (65,535 less the
	// IP and UDP headers).
	maxUDPPayload = 65507
)

// commonMTUs are the link MTUs, in IP packet bytes, that the first round
// tries all at once: WireGuard's 1,420, PPPoE's 1,492, Ethernet's 1,500,
// jumbo frames' 9,000 and loopback's 65,535. Most paths are one of them,
// so most searches end after one round.
var commonMTUs = [...]int{1420, 1492, 1500, 9000, 65535}

// pmtuPhase is the RFC 8899 section 5.2 state. BASE is folded into
// searching: the base is assumed to pass (every IPv6 path carries 1,280
// bytes) and the first probes confirm it along the way.
type pmtuPhase uint8

const (
	pmtuDisabled  pmtuPhase = iota // no discovery: PacketSize alone limits packets
	pmtuSearching                  // probing for a larger size
	pmtuComplete                   // SEARCH_COMPLETE: resting until the raise timer
)

var pmtuPhaseNames = [...]string{"disabled", "searching", "complete"}

func (p pmtuPhase) String() string { return pmtuPhaseNames[p] }

type probeState uint8

const (
	probePlanned probeState = iota
	probeSent
	probeAcked
	probeLost
)

// pmtuProbe is one size tried in a round.
type pmtuProbe struct {
	size    int
	seq     uint16
	state   probeState
	certain bool // lost for sure: the kernel refused it (PathTooBig) or nothing else was outstanding
}

// pmtuState is the search. The size that passes lies in [size, hi).
type pmtuState struct {
	phase    pmtuPhase
	base     int // BASE_PLPMTU
	floor    int // MIN_PLPMTU: where a failing base falls (Config.PathFloor)
	ceiling  int // MAX_PLPMTU: what the IO layer can send at all
	overhead int // IP and UDP header bytes, to turn link MTUs into datagram sizes
	size     int // PLPMTU: the largest size confirmed (or assumed: base, cache)
	hi       int // smallest size known or suspected not to pass

	round     [pmtuRoundProbes]pmtuProbe
	roundN    int
	otherLoss bool // a packet that is not a probe was lost during the round
	ambiguous int  // consecutive rounds whose failures congestion may explain
	triedMTUs bool // the common sizes have had their round
	raiseAt   time.Time
	// falseAlarms counts suspected black holes the peer's answer
	// disproved; each makes the detector wait for one more timeout.
	falseAlarms int
}

func (p *pmtuState) init(cfg Config) {
	if cfg.PathBase <= 0 {
		return
	}
	p.base = cfg.PathBase
	p.floor = p.base
	if cfg.PathFloor > 0 {
		p.floor = min(cfg.PathFloor, p.base)
	}
	p.ceiling = max(p.floor, min(cfg.PathCeiling, dataOverhead(&cfg)+cfg.PacketSize))
	if cfg.PathCeiling <= 0 {
		p.ceiling = max(p.floor, min(maxUDPPayload, dataOverhead(&cfg)+cfg.PacketSize))
	}
	p.overhead = cfg.PathOverhead
	start := cfg.PathStart
	if start <= 0 {
		start = p.base
	}
	// A cached size below the base is one an earlier connection fell to
	// and confirmed: start there rather than fall again.
	p.size = min(max(start, p.floor), p.ceiling)
	p.hi = p.ceiling + 1
	p.phase = pmtuSearching
	if p.hi-p.size <= pmtuTolerance {
		p.phase = pmtuComplete
	}
}

// planRound picks the sizes of the next round: first every common size
// in the bracket (and the ceiling, usually the local link's MTU), then
// three sizes splitting the bracket in four, so that each round divides
// it by four: at most seven rounds bring 65,507 bytes within 20.
func (p *pmtuState) planRound() {
	p.roundN, p.otherLoss = 0, false
	add := func(s int) {
		if s <= p.size || s >= p.hi || p.roundN == len(p.round) {
			return
		}
		for _, q := range p.round[:p.roundN] {
			if q.size == s {
				return
			}
		}
		p.round[p.roundN] = pmtuProbe{size: s}
		p.roundN++
	}
	if !p.triedMTUs {
		p.triedMTUs = true
		for _, m := range commonMTUs {
			add(min(m-p.overhead, maxUDPPayload))
		}
		add(p.ceiling)
		if p.roundN > 0 {
			return
		}
	}
	gap := p.hi - p.size
	for i := 1; i <= 3; i++ {
		add(p.size + gap*i/4)
	}
}

// next returns the size of the next probe to send, planning a round when
// none is under way.
func (p *pmtuState) next(now time.Time) (int, bool) {
	switch p.phase {
	case pmtuDisabled:
		return 0, false
	case pmtuComplete:
		if now.Before(p.raiseAt) {
			return 0, false
		}
		// RFC 8899 5.2: after PMTU_RAISE_TIMER, search upward again.
		p.phase, p.hi, p.triedMTUs, p.roundN = pmtuSearching, p.ceiling+1, false, 0
	}
	if p.roundN == 0 {
		p.planRound()
	}
	for i := range p.round[:p.roundN] {
		if p.round[i].state == probePlanned {
			return p.round[i].size, true
		}
	}
	return 0, false
}

// probing reports whether a probe of the round is in flight.
func (p *pmtuState) probing() bool {
	for _, q := range p.round[:p.roundN] {
		if q.state == probeSent {
			return true
		}
	}
	return false
}

// sent records that the planned probe of size went out as seq.
func (p *pmtuState) sent(size int, seq uint16) {
	for i := range p.round[:p.roundN] {
		if q := &p.round[i]; q.state == probePlanned && q.size == size {
			q.state, q.seq = probeSent, seq
			return
		}
	}
}

// resolve records a probe's fate and ends the round when it was the last.
func (p *pmtuState) resolve(now time.Time, seq uint16, acked, certain bool) {
	done := true
	for i := range p.round[:p.roundN] {
		q := &p.round[i]
		if q.state == probeSent && q.seq == seq {
			q.state, q.certain = probeLost, certain
			if acked {
				q.state = probeAcked
				// Confirmed now: later packets may use it before the round ends.
				p.size = max(p.size, q.size)
			}
		}
		if q.state == probePlanned || q.state == probeSent {
			done = false
		}
	}
	if done && p.roundN > 0 {
		p.endRound(now)
	}
}

// endRound narrows the bracket by the round's results.
func (p *pmtuState) endRound(now time.Time) {
	ambiguous := false
	for _, q := range p.round[:p.roundN] {
		if q.state != probeLost || q.size <= p.size {
			continue
		}
		if q.certain || !p.otherLoss || p.ambiguous+1 >= pmtuMaxProbes {
			p.hi = min(p.hi, q.size)
		} else {
			ambiguous = true
		}
	}
	if ambiguous {
		p.ambiguous++
	} else {
		p.ambiguous = 0
	}
	p.roundN = 0
	if p.hi-p.size <= pmtuTolerance {
		p.phase = pmtuComplete
		p.raiseAt = now.Add(pmtuRaiseTimer)
	}
}

// limit lowers the ceiling to n, the largest datagram the peer reads
// whole.
func (p *pmtuState) limit(n int) {
	if p.phase == pmtuDisabled || n > p.ceiling {
		return
	}
	p.ceiling = max(p.floor, n)
	p.hi = min(p.hi, p.ceiling+1)
	if p.hi-p.size <= pmtuTolerance {
		p.phase = pmtuComplete
	}
}

// tooBig lowers the ceiling to below n, a datagram size the IO layer
// could not send (EMSGSIZE). It reports whether the confirmed size itself
// is too big now.
func (p *pmtuState) tooBig(n int) bool {
	if p.phase == pmtuDisabled {
		return false
	}
	p.ceiling = max(p.floor, min(p.ceiling, n-1))
	p.hi = min(p.hi, max(n, p.floor+1))
	return p.size >= n
}

// blackHole falls back to the base after the path stopped carrying the
// confirmed size, and searches again below it (RFC 8899 section 4.3 and
// 5.2: BASE, then SEARCHING). When the base itself failed, it falls to
// the floor and searches between the two (RFC 8899 5.2's ERROR state,
// which uses MIN_PLPMTU), as an IPv4 path narrower than 1,280 bytes
// needs.
func (p *pmtuState) blackHole() {
	to := p.fallback()
	p.hi = max(to+1, min(p.hi, p.size))
	p.size = to
	p.phase, p.triedMTUs, p.roundN, p.ambiguous = pmtuSearching, false, 0, 0
	if p.hi-p.size <= pmtuTolerance {
		p.phase = pmtuComplete
	}
}

// fallback is the size a black hole at the current size falls to: the
// base, or the floor if the base is what failed.
func (p *pmtuState) fallback() int {
	if p.size > p.base {
		return p.base
	}
	return p.floor
}

// PathMTU returns the largest datagram (UDP payload) the path is known
// to carry, which bounds every packet but probes; 0 when path MTU
// discovery is off (Config.PathBase).
func (c *Conn) PathMTU() int {
	if c.pmtu.phase == pmtuDisabled {
		return 0
	}
	return c.pmtu.size
}

// PathTooBig tells the connection that a datagram of n bytes could not
// be sent: the kernel refused it with EMSGSIZE (the local link is
// smaller), or an ICMP "packet too big" said so. Probes of n bytes or
// more fail at once and are resent empty; if the confirmed size is n or
// more, the connection falls back to the base as after a black hole.
func (c *Conn) PathTooBig(now time.Time, n int) {
	if c.state == stateClosed || c.pmtu.phase == pmtuDisabled {
		return
	}
	shrunk := c.pmtu.tooBig(n)
	s := &c.snd
	for i := range c.pmtu.round[:c.pmtu.roundN] {
		q := c.pmtu.round[i]
		if q.state != probeSent || q.size < n {
			continue
		}
		if p := s.pkt(q.seq); p.probe && p.inFlight {
			c.withdraw(p)
		}
		c.stats.PathProbesLost++
		c.pmtu.resolve(now, q.seq, false, true)
	}
	if shrunk && !c.rewind.pending {
		c.onPathShrunk(now)
	}
	c.arm(now)
}

// withdraw takes a packet out of flight and marks it for resending,
// without the congestion response a lost packet gets (markLost adds it):
// how a lost path MTU probe is taken back.
func (c *Conn) withdraw(p *outPacket) {
	s := &c.snd
	if p.inFlight {
		p.inFlight = false
		s.flight -= p.size()
	}
	p.unseen = false
	if !p.lost {
		p.lost = true
		s.lostN++
	}
}

// pathMax is the largest payload the path allows, with room for the
// header and the largest selective ACK we send.
func (c *Conn) pathMax() int {
	if c.pmtu.phase == pmtuDisabled {
		return c.cfg.PacketSize
	}
	return max(1, c.pmtu.size-dataOverhead(&c.cfg))
}

// mssSetter is a controller whose full packet size can change
// (cc.LEDBAT, cc.LEDBATPP): discovery changes it as it goes.
type mssSetter interface{ SetMSS(mss int) }

// followMSS tells the controller the full packet size, when discovery
// changed it, and the receiving half, whose window thresholds count in
// packets (the peer's cross the same path).
func (c *Conn) followMSS() {
	mss := c.maxPayload() + wire.HeaderSize
	if mss == c.size.mss {
		return
	}
	c.size.mss = mss
	c.rcv.packetSize = c.maxPayload()
	if m, ok := c.ctrl.(mssSetter); ok {
		m.SetMSS(mss)
	}
}

// nextProbe assigns a sequence number to a probe, if one is due and the
// connection can send it now: established and confirmed, not closing,
// with data to follow it (whose ACKs reveal the probe's loss quickly)
// and room in the window for its bytes. hold asks the caller to send no
// data either, so that room for the probe builds up.
func (c *Conn) nextProbe(now time.Time, unsent int) (seq uint16, sent, hold bool) {
	s := &c.snd
	if c.pmtu.phase == pmtuDisabled || s.unconfirmed || s.confirmDue || s.finQueued || unsent == 0 {
		return 0, false, false
	}
	size, ok := c.pmtu.next(now)
	if !ok {
		return 0, false, false
	}
	// The probe goes out with room for data behind it, whose ACKs
	// reveal its loss within a round trip (libtorrent likewise waits for
	// a window of three packets, utp_stream.cpp); a probe alone in flight
	// is found lost only by the retransmission timer.
	need := size + pmtuTrailing*(c.maxPayload()+wire.HeaderSize)
	if c.sendWindow() < need {
		return 0, false, false // the window grows first
	}
	if c.sendWindow()-s.flight < need {
		// Data would take every bit of room as ACKs free it, and the probe
		// would never fit: hold data back until it does, unless a probe
		// is out, whose fate the data must reveal.
		return 0, false, !c.pmtu.probing()
	}
	seq = s.seqNr
	p := s.assign(wire.Data, s.next, 0)
	p.probe = true
	p.pad = uint16(size - wire.HeaderSize)
	c.pmtu.sent(size, seq)
	c.stats.PathProbes++
	return seq, true, false
}

// probeAcked is called for an acknowledged probe packet.
func (c *Conn) probeAcked(now time.Time, p *outPacket) {
	for _, q := range c.pmtu.round[:c.pmtu.roundN] {
		if q.state == probeSent && c.snd.pkt(q.seq) == p {
			c.pmtu.resolve(now, q.seq, p.sends == 1, false)
			return
		}
	}
}

// probeLost is called when a probe packet is declared lost.
func (c *Conn) probeLost(now time.Time, p *outPacket, certain bool) {
	for _, q := range c.pmtu.round[:c.pmtu.roundN] {
		if q.state == probeSent && c.snd.pkt(q.seq) == p {
			c.stats.PathProbesLost++
			c.pmtu.resolve(now, q.seq, false, certain)
			return
		}
	}
}

// onlyProbesOutstanding reports whether every packet sent and not yet
// acknowledged is a probe (at least one): a timeout then condemns the
// probes, not the path's capacity.
func (c *Conn) onlyProbesOutstanding() bool {
	s := &c.snd
	n := 0
	for seq := s.una; seq != s.seqNr; seq++ {
		p := s.pkt(seq)
		if !p.inFlight {
			continue
		}
		if !p.probe || p.pad == 0 {
			return false
		}
		n++
	}
	return n > 0
}

// probeTimeout handles a retransmission timeout with only probes
// outstanding: they failed, and nothing else is wrong, so neither the
// window nor the timer's backoff pays for it.
func (c *Conn) probeTimeout(now time.Time) {
	s := &c.snd
	for seq := s.una; seq != s.seqNr; seq++ {
		if p := s.pkt(seq); p.inFlight {
			c.withdraw(p)
			c.probeLost(now, p, true)
		}
	}
}

// pathBlackHole checks, at a retransmission timeout, whether the path
// stopped carrying the confirmed size: pmtuBlackHoleRTOs timeouts in a
// row with a packet larger than the floor outstanding. It then falls
// back to the base, or below it to the floor if the base is what failed
// (onPathShrunk).
func (c *Conn) pathBlackHole(now time.Time) {
	s := &c.snd
	if c.pmtu.phase == pmtuDisabled || c.pmtu.size <= c.pmtu.floor ||
		c.consecutiveTimeouts < pmtuBlackHoleRTOs+min(c.pmtu.falseAlarms, 6) ||
		c.state != stateConnected || s.inUse() == 0 {
		return
	}
	if s.pkt(s.una).n <= c.pmtu.floor-dataOverhead(&c.cfg) {
		// A packet the floor carries: not a question of size. (Not the
		// base: a path may have narrowed below it, and a short packet
		// between the two then never passes.)
		return
	}
	c.onPathShrunk(now)
}

// rewindQuiet is the least time between our last data transmission and
// an answer that may decide a re-packetization.
const rewindQuiet = time.Second

// rewindState is a pending re-packetization. uTP binds a sequence
// number to its payload, so packets too large for a shrunken path can
// only cross it again as new packets under the same sequence numbers,
// which is sound only if the peer holds none of them. Sending stops; one
// empty DATA with an old sequence number (a duplicate, which every
// implementation answers at once with its ack_nr and selective ACK) asks
// the peer what it holds; the answer decides.
type rewindState struct {
	pending bool
	askDue  bool
	askAt   time.Time
	lastTx  time.Time // the last data transmission before sending stopped
	una     uint16    // the oldest unacknowledged packet when sending stopped
	sacked  int       // packets the peer had acknowledged selectively when sending stopped
	before  pmtuState // the search before the fall, restored if it was a false alarm
}

// onPathShrunk falls back to the base size and, if packets too large
// for it are outstanding, stops sending to ask the peer what it holds.
func (c *Conn) onPathShrunk(now time.Time) {
	before := c.pmtu
	c.pmtu.blackHole()
	c.stats.PathBlackHoles++
	s := &c.snd
	limit := c.maxPayload()
	for seq := s.una; seq != s.seqNr; seq++ {
		if p := s.pkt(seq); p.sends > 0 && p.n > limit {
			c.rewind = rewindState{pending: true, askDue: true, lastTx: c.lastDataTx, una: s.una, sacked: s.sackedN, before: before}
			return
		}
	}
}

// askPeer writes the duplicate DATA that asks the peer for its ack_nr
// and selective ACK, and keeps a timer running for the answer.
func (c *Conn) askPeer(now time.Time, buf []byte) int {
	c.rewind.askDue = false
	c.rewind.askAt = now
	var h wire.Header
	c.header(&h, now, wire.Data, c.snd.una-1)
	c.ackSent()
	c.countSent(now)
	if c.timers[timerRetransmit].IsZero() {
		c.setTimer(timerRetransmit, now.Add(c.rto()))
	}
	return h.Put(buf)
}

// settleRewind takes a packet from the peer as the answer to askPeer,
// once every packet we sent before stopping has had time to arrive (two
// RTOs without backoff, and at least rewindQuiet: a packet can wait long
// in a busy receiver's socket buffer), so that the answer reflects them
// all. If any packet shows that the peer got something since sending
// stopped, the path still carries large packets and the loss was
// something else (a burst, an outage): the search is restored as it was,
// and sending resumes. Otherwise the large packets are not getting
// through: if the peer holds nothing out of order, the outstanding data
// is re-packetized; if it holds data beyond them, they are stranded and
// resent fragmentable (fragment.go).
func (c *Conn) settleRewind(now time.Time) {
	rw := &c.rewind
	// Only what arrived since sending stopped counts: data the peer held
	// beyond a hole before the path changed says nothing about the path.
	got := c.snd.una != rw.una || c.snd.sackedN > rw.sacked
	if got {
		// Large packets still arrive: a false alarm, settled at once.
		before := rw.before
		*rw = rewindState{}
		c.pmtu = before
		c.pmtu.roundN = 0
		c.pmtu.falseAlarms++
		return
	}
	if rw.askAt.IsZero() {
		return
	}
	if now.Sub(rw.lastTx) < max(2*(c.rtt.SRTT()+4*c.rtt.RTTVar()), rewindQuiet) {
		// Too soon to be sure: ask again, at most a few times a round trip.
		rw.askDue = rw.askDue || now.Sub(rw.askAt) >= c.rtt.SRTT()/4
		return
	}
	*rw = rewindState{}
	if c.peerHoldsSome() {
		c.strand() // fragment.go
		return
	}
	c.repacketize()
}

// repacketize withdraws every packet from the oldest unacknowledged one
// on, so that their bytes go out again in packets of the new size under
// the same sequence numbers. The caller made sure the peer holds none.
func (c *Conn) repacketize() {
	s := &c.snd
	if c.state != stateConnected || s.inUse() == 0 {
		return
	}
	for seq := s.una; seq != s.seqNr; seq++ {
		if p := s.pkt(seq); p.sacked || p.typ == wire.Syn {
			return
		}
	}
	s.next = s.pkt(s.una).off
	if s.finSent && !wire.SeqLess(s.finSeq, s.una) {
		s.finSent = false
	}
	for seq := s.una; seq != s.seqNr; seq++ {
		*s.pkt(seq) = outPacket{}
	}
	s.seqNr = s.una
	s.flight, s.lostN, s.dupAcks = 0, 0, 0
	c.pmtu.roundN = 0
	c.consecutiveTimeouts = 0
	c.rtt.ResetBackoff()
	c.setTimer(timerRetransmit, time.Time{})
	c.stats.Repacketized++
}
