package proto

import (
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

var simTrace = flag.Bool("sim.trace", false, "log every packet of simulated runs")

// endpoint drives one Conn over a netsim node: it writes a deterministic
// stream, reads and checks the peer's, and feeds packets, timers and
// outputs between the Conn and the simulator.
type endpoint struct {
	t       testing.TB
	name    string
	host    *simHost
	node    *netsim.Node
	peer    netsim.Addr
	cfg     Config
	buffers Buffers // lends the rings, if not nil
	conn    *Conn
	timer   *netsim.Timer
	buf     []byte
	rbuf    []byte
	wbuf    []byte // the stream's next bytes, pending[...] not yet written
	pending []byte
	isn     uint16
	recvID  uint16

	sendSalt, recvSalt byte
	sendPat, recvPat   *streamPattern // the streams of sendSalt and recvSalt
	sendTotal          uint64         // bytes to write
	written            uint64
	closeAfter         time.Duration // CloseWrite this long after the last write is accepted (0: at once)
	closeAt            time.Time
	writeClosed        bool
	readCount          uint64
	gotEOF             bool
	eofAt              time.Duration // virtual time at which EOF was read
	closed             bool
	closeErr           error
	failure            string
	connected          bool
	invariants         bool
	sends, sendSteps   uint64 // datagrams sent, and pumps that sent any
}

func (e *endpoint) now() time.Time { return e.node.Now() }

func (e *endpoint) fail(format string, args ...any) {
	if e.failure == "" {
		e.failure = fmt.Sprintf("%s at %v: %s", e.name, e.node.Sim().Elapsed(), fmt.Sprintf(format, args...))
	}
}

// simHost is a netsim node carrying any number of connections, demuxed
// by connection id as a socket does. Unknown connections get a RESET.
type simHost struct {
	node    *netsim.Node
	conns   map[uint16]*endpoint // by receive id; lookups only, never iterated
	accepts []*endpoint          // endpoints waiting for a SYN, in order

	// forged is set (by a Sim.Tap) while a forged datagram is delivered;
	// onForged then learns whether the Conn it reached admitted it.
	forged   bool
	onForged func(e *endpoint, h wire.Header, admitted bool)

	// pausedUntil models a descheduled process (pause): until then its
	// timers do not fire and the packets that arrive for it wait in held.
	pausedUntil time.Time
	timersOn    bool // paused by pauseReads: the timers still fire
	held        []heldPacket
	// batchReads has the end of a pause hand every held packet to its
	// connection before any of them answers, as an IO layer that reads
	// a batch of datagrams and then steps each connection does: one ACK
	// per connection for what it read, echoing the last packet read.
	batchReads bool
	batching   bool
	touched    []*endpoint // connections fed in the batch being read

	// lose, if not nil, sees every datagram that reaches the host and
	// drops those it reports true for: a loss picked by content.
	lose func(b []byte) bool
}

// heldPacket is a datagram that arrived while its host was paused.
type heldPacket struct {
	from netsim.Addr
	b    []byte
}

// paused reports whether the host is descheduled now.
func (h *simHost) paused() bool { return h.node.Sim().Now().Before(h.pausedUntil) }

// pauseReads holds the packets that reach the host for d, its timers
// still running on time: a process whose timer ran while its reader
// waited for a processor, or a receive path that stalled. The held
// packets are read at the end.
func (h *simHost) pauseReads(d time.Duration) {
	h.pause(d)
	h.timersOn = true
	h.node.Sim().Schedule(h.pausedUntil, func() { h.timersOn = false })
}

// pause deschedules the host for d, as a loaded machine does a process:
// when it runs again, the timers of es that fell due meanwhile fire
// first, and then the packets that waited in its socket are read.
func (h *simHost) pause(d time.Duration, es ...*endpoint) {
	sim := h.node.Sim()
	h.pausedUntil = sim.Now().Add(d)
	sim.Schedule(h.pausedUntil, func() {
		for _, e := range es {
			e.onTimer()
		}
		held := h.held
		h.held = nil
		h.batching = h.batchReads
		for _, p := range held {
			h.deliver(sim.Now(), p.from, p.b)
		}
		h.batching = false
		touched := h.touched
		h.touched = nil
		for _, e := range touched {
			e.pump()
		}
	})
}

func newSimHost(sim *netsim.Sim, name string) *simHost {
	h := &simHost{conns: make(map[uint16]*endpoint)}
	h.node = sim.NewNode(netsim.Addr(name), h.deliver)
	return h
}

func (h *simHost) deliver(_ time.Time, from netsim.Addr, b []byte) {
	if h.lose != nil && h.lose(b) {
		return
	}
	if h.paused() {
		h.held = append(h.held, heldPacket{from, slices.Clone(b)})
		return
	}
	hdr, _, err := wire.Parse(b)
	if err != nil {
		return
	}
	id := hdr.ConnID
	if hdr.Type == wire.Syn {
		id++
	}
	e := h.conns[id]
	if e == nil && hdr.Type == wire.Reset {
		// libutp addresses a RESET with the connection id of the packet
		// it answers, which is our send id: match either id.
		e = h.bySendID(id)
	}
	switch {
	case e == nil && hdr.Type == wire.Syn && len(h.accepts) > 0:
		e = h.accepts[0]
		h.accepts = h.accepts[1:]
		h.conns[id] = e
		e.trace("recv", b)
		e.conn = Accept(e.now(), e.cfg, hdr, e.isn)
		e.lendRings()
		e.pump()
	case e != nil && e.conn.Closed() && !e.conn.Confirmed() && hdr.Type == wire.Syn:
		// An acceptor dropped for want of proof (amplify.go): the
		// dialer's next SYN opens the connection anew, as a Socket does.
		e.trace("recv", b)
		e.conn = Accept(e.now(), e.cfg, hdr, e.isn+1)
		e.lendRings()
		e.pump()
	case e == nil || e.conn.Closed():
		if e != nil {
			e.trace("recv", b)
		}
		if hdr.Type != wire.Reset {
			r := wire.Header{Type: wire.Reset, ConnID: hdr.ConnID, AckNr: hdr.SeqNr}
			h.node.Send(from, r.Append(nil))
		}
	default:
		e.trace("recv", b)
		if h.forged && h.onForged != nil {
			before := e.conn.Stats()
			e.conn.HandlePacket(e.now(), b)
			h.onForged(e, hdr, forgedAdmitted(hdr, before, e.conn))
		} else {
			e.conn.HandlePacket(e.now(), b)
		}
		if h.batching {
			if !slices.Contains(h.touched, e) {
				h.touched = append(h.touched, e)
			}
			return
		}
		e.pump()
	}
}

// forgedAdmitted reports whether a forged packet changed a Conn: it was
// neither ignored, nor taken for a duplicate, nor answered with a
// challenge. A SYN can at most have its saved reply sent again.
func forgedAdmitted(h wire.Header, before Stats, c *Conn) bool {
	after := c.Stats()
	switch {
	case h.Type == wire.Syn:
		return false
	case h.Type == wire.Reset:
		return c.Closed()
	}
	return after.PacketsIgnored == before.PacketsIgnored && after.Duplicates == before.Duplicates &&
		after.PacketsMalformed == before.PacketsMalformed
}

func (e *endpoint) onTimer() {
	if e.conn != nil && (!e.host.paused() || e.host.timersOn) {
		e.conn.HandleTimeout(e.now())
		e.pump()
	}
}

// pump performs application IO and drains every output of the Conn.
func (e *endpoint) pump() {
	c, now := e.conn, e.now()
	if c == nil {
		return
	}
	for e.written < e.sendTotal && !c.Closed() {
		if len(e.pending) == 0 {
			// Generate each byte of the stream once: the Conn often takes
			// only a packet's worth of a chunk.
			e.pending = e.wbuf[:min(uint64(len(e.wbuf)), e.sendTotal-e.written)]
			e.sendPat.fill(e.pending, e.written)
		}
		n, err := c.Write(now, e.pending)
		if err != nil {
			e.fail("write: %v", err)
			break
		}
		e.written += uint64(n)
		e.pending = e.pending[n:]
		if len(e.pending) > 0 {
			break
		}
	}
	if e.written == e.sendTotal && !e.writeClosed && !c.Closed() {
		if e.closeAt.IsZero() {
			e.closeAt = now.Add(e.closeAfter)
		}
		if !now.Before(e.closeAt) {
			e.writeClosed = true
			c.CloseWrite(now)
		}
	}
	e.read(now)
	sent := 0
	defer func() {
		if sent > 0 {
			e.sendSteps++
			e.sends += uint64(sent)
		}
	}()
	for {
		n, ok := c.PollTransmit(now, e.buf)
		if !ok {
			break
		}
		sent++
		e.trace("send", e.buf[:n])
		if lim := peerReads(e.cfg); n > lim {
			// Both ends share the Config: the peer reads what it says.
			e.fail("sent a %d-byte datagram to a peer that reads %d", n, lim)
		}
		if c.Fragmentable() {
			// A stranded packet's resend: routers fragment it.
			e.node.SendFragmentable(e.peer, e.buf[:n])
		} else {
			e.node.Send(e.peer, e.buf[:n])
		}
	}
	for ev := c.NextEvent(); ev.Kind != EventNone; ev = c.NextEvent() {
		switch ev.Kind {
		case EventConnected:
			e.connected = true
		case EventClosed:
			e.closed, e.closeErr = true, ev.Err
		}
	}
	if e.invariants {
		e.checkInvariants(now)
	}
	next := c.NextDeadline()
	if !e.closeAt.IsZero() && !e.writeClosed && (next.IsZero() || e.closeAt.Before(next)) {
		next = e.closeAt
	}
	e.timer.Reset(e.node.Sim().Now().Add(next.Sub(now)))
	if next.IsZero() {
		e.timer.Stop()
	}
}

func (e *endpoint) trace(dir string, b []byte) {
	if !*simTrace {
		return
	}
	h, p, err := wire.Parse(b)
	if err != nil {
		e.t.Logf("%v %s %s: %v", e.node.Sim().Elapsed(), e.name, dir, err)
		return
	}
	e.t.Logf("%v %s %s %v id=%d seq=%d ack=%d wnd=%d len=%d sack=%x", e.node.Sim().Elapsed(), e.name, dir,
		h.Type, h.ConnID, h.SeqNr, h.AckNr, h.WndSize, len(p), h.SACK)
}

func (e *endpoint) read(now time.Time) {
	for {
		n, err := e.conn.Read(now, e.rbuf)
		if i := e.recvPat.mismatch(e.rbuf[:n], e.readCount); i >= 0 {
			at := e.readCount + uint64(i)
			e.fail("byte %d: got %#x want %#x", at, e.rbuf[i], streamByte(e.recvSalt, at))
			return
		}
		e.readCount += uint64(n)
		if err != nil {
			if err.Error() == "EOF" && !e.gotEOF {
				e.gotEOF, e.eofAt = true, e.node.Sim().Elapsed()
			}
			return
		}
		if n == 0 {
			return
		}
	}
}

// peerReads is the largest datagram an endpoint with cfg reads whole, as
// far as its peer can know: what it advertises, else CommonDatagram.
func peerReads(cfg Config) int {
	if cfg.MaxRecvDatagram > 0 {
		return cfg.MaxRecvDatagram
	}
	return CommonDatagram
}

// deadlineMismatch reports how NextDeadline, which reads only the armed
// slots of the timer table, departs from its definition (the earliest
// deadline of every kind, derived ones included), or "" if it does not:
// each slot's armed bit says whether it holds a deadline, and no derived
// kind's slot is ever set.
func deadlineMismatch(c *Conn) string {
	for k := range numTimers {
		if armed := c.armed&(1<<k) != 0; armed == c.timers[k].IsZero() {
			return fmt.Sprintf("timer %v: armed bit %v, deadline %v", k, armed, c.timers[k])
		}
	}
	for _, k := range []timerKind{timerKeepalive, timerIdle, timerTLP} {
		if !c.timers[k].IsZero() {
			return fmt.Sprintf("derived timer %v has a slot set", k)
		}
	}
	var want time.Time
	if c.state != stateClosed {
		for k := range numTimers {
			if t := c.deadline(k); !t.IsZero() && (want.IsZero() || t.Before(want)) {
				want = t
			}
		}
	}
	if got := c.NextDeadline(); !got.Equal(want) {
		return fmt.Sprintf("NextDeadline %v, the earliest timer %v", got, want)
	}
	return ""
}

// checkInvariants are the properties that must hold after every step.
func (e *endpoint) checkInvariants(now time.Time) {
	c := e.conn
	if d := c.NextDeadline(); !d.IsZero() && d.Before(now) {
		e.fail("NextDeadline %v is in the past (now %v)", d, now)
	}
	if why := deadlineMismatch(c); why != "" {
		e.fail("%s", why)
	}
	if c.rcv.ring.len()+c.rcv.reorderBytes > c.cfg.RecvBufferSize+c.cfg.PacketSize {
		e.fail("receive buffer over its bound")
	}
	if c.snd.ring.len() > c.cfg.SendBufferSize {
		e.fail("send buffer over its bound")
	}
	if c.snd.flight < 0 || c.snd.lostN < 0 {
		e.fail("negative flight %d or lost %d", c.snd.flight, c.snd.lostN)
	}
}

// pairSpec describes one simulated transfer.
type pairSpec struct {
	seed        uint64
	link        netsim.LinkConfig // both directions unless back is set
	back        *netsim.LinkConfig
	cfg         Config
	aToB, bToA  uint64        // bytes each way
	aCloseDelay time.Duration // dialer closes this long after its last write
	bCloseDelay time.Duration
	limit       time.Duration // virtual-time bound
	skewB       float64
	checkInvar  bool
	onSetup     func(p *pair)
	buffers     Buffers // lends both ends their rings, if not nil
}

type pair struct {
	sim  *netsim.Sim
	a, b *endpoint
	ab   *netsim.Link
	ba   *netsim.Link
}

func newPair(t testing.TB, spec pairSpec) *pair {
	sim := netsim.New(spec.seed)
	p := &pair{sim: sim}
	ha, hb := newSimHost(sim, "dialer"), newSimHost(sim, "acceptor")
	back := spec.link
	if spec.back != nil {
		back = *spec.back
	}
	p.ab, p.ba = sim.Connect(ha.node, hb.node, spec.link, back)
	hb.node.SetClockSkew(spec.skewB)
	p.a, p.b = newFlow(t, ha, hb, spec, "")
	if spec.onSetup != nil {
		spec.onSetup(p)
	}
	p.a.dial()
	return p
}

// newFlow prepares one connection from host a to host b: the dialer's
// endpoint and the acceptor's, which takes the next SYN that reaches b.
// Call dial on the first to start it.
func newFlow(t testing.TB, a, b *simHost, spec pairSpec, suffix string) (*endpoint, *endpoint) {
	rng := a.node.Sim().Rand()
	mk := func(h *simHost, peer *simHost, name string, salt byte) *endpoint {
		e := &endpoint{t: t, name: name + suffix, host: h, node: h.node, peer: peer.node.Addr(), cfg: spec.cfg,
			isn: uint16(rng.Uint32()), recvID: uint16(rng.Uint32()),
			invariants: spec.checkInvar, sendSalt: salt, recvSalt: salt ^ 0xff, buffers: spec.buffers,
			sendPat: newStreamPattern(salt), recvPat: newStreamPattern(salt ^ 0xff)}
		e.buf = make([]byte, 64<<10+512)
		e.wbuf = make([]byte, 64<<10)
		e.rbuf = make([]byte, 48<<10)
		e.timer = h.node.Sim().NewTimer(e.onTimer)
		return e
	}
	ea, eb := mk(a, b, "dialer", 0x00), mk(b, a, "acceptor", 0xff)
	ea.sendTotal, eb.sendTotal = spec.aToB, spec.bToA
	ea.closeAfter, eb.closeAfter = spec.aCloseDelay, spec.bCloseDelay
	b.accepts = append(b.accepts, eb)
	return ea, eb
}

// bySendID finds the connection whose send id is id: a dialer's is its
// receive id + 1, an acceptor's its receive id − 1.
func (h *simHost) bySendID(id uint16) *endpoint {
	for _, e := range []*endpoint{h.conns[id-1], h.conns[id+1]} {
		if e != nil && e.conn != nil && e.conn.SendID() == id {
			return e
		}
	}
	return nil
}

// dial starts a dialer endpoint.
func (e *endpoint) dial() {
	for e.host.conns[e.recvID] != nil || e.host.conns[e.recvID+1] != nil {
		e.recvID += 2
	}
	e.host.conns[e.recvID] = e
	e.conn = Dial(e.now(), e.cfg, e.recvID, e.isn)
	e.lendRings()
	e.pump()
}

// lendRings has the pair's Buffers, if any, lend the new Conn its rings.
func (e *endpoint) lendRings() {
	if e.buffers != nil {
		e.conn.SetBuffers(e.buffers)
	}
}

// run simulates until both ends have closed, a failure, or the limit.
func (p *pair) run(limit time.Duration) {
	done := func() bool {
		return !(p.a.closed && p.b.closed) && p.a.failure == "" && p.b.failure == ""
	}
	p.sim.RunWhile(done, p.sim.Start().Add(limit))
}

// verify reports everything that went wrong in a finished run.
func (p *pair) verify(spec pairSpec) error {
	for _, e := range []*endpoint{p.a, p.b} {
		if e.failure != "" {
			return fmt.Errorf("%s", e.failure)
		}
	}
	for _, e := range []*endpoint{p.a, p.b} {
		peer := p.b
		if e == p.b {
			peer = p.a
		}
		switch {
		case !e.closed:
			return fmt.Errorf("%s not closed after %v (read %d/%d, eof %v, wrote %d/%d)", e.name, p.sim.Elapsed(), e.readCount, peer.sendTotal, e.gotEOF, e.written, e.sendTotal)
		case e.closeErr != nil:
			return fmt.Errorf("%s closed with %v at %v (read %d/%d)", e.name, e.closeErr, p.sim.Elapsed(), e.readCount, peer.sendTotal)
		case e.readCount != peer.sendTotal || !e.gotEOF:
			return fmt.Errorf("%s read %d of %d bytes, eof %v", e.name, e.readCount, peer.sendTotal, e.gotEOF)
		}
	}
	return nil
}
