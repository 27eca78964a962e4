package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

type connState uint8

const (
	stateSynSent   connState = iota // dialer waiting for the acceptor's reply
	stateConnected                  // data may flow; close progress is in sendState/recvState flags
	stateClosed                     // terminal
)

var stateNames = [...]string{"SynSent", "Connected", "Closed"}

func (s connState) String() string { return stateNames[s] }

// Conn is the state of one uTP connection. It is not safe for concurrent
// use: the IO layer serialises every call.
type Conn struct {
	cfg    Config
	state  connState
	sendID uint16 // connection_id on packets we send
	recvID uint16 // connection_id on packets we receive

	snd   sendState
	rcv   recvState
	rec   recoveryState
	tlp   tlpState // tail loss probe (tlp.go)
	pace  pacer
	limit limitChrono // what holds the sender back (sendlimit.go)
	size  sizeState

	ctrl cc.Controller
	rtt  *cc.RTTEstimator
	pmtu pmtuState
	// rewind: re-packetizing after the path shrank (pmtu.go).
	rewind     rewindState
	lastDataTx time.Time
	// fragOut: the datagram the last poll returned may be fragmented
	// (fragment.go).
	fragOut bool

	timers timerTable
	// armed has bit k set while timers[k] is armed (setTimer), so that
	// NextDeadline reads only those slots.
	armed uint16
	// lastRecv and lastSend feed the idle timeout and keepalive.
	lastRecv, lastSend time.Time
	// consecutiveTimeouts counts RTO expiries without forward progress.
	consecutiveTimeouts int
	lastTimeout         time.Time
	// rtoDeferred is the retransmission deadline that a late fire set
	// (starved.go): that one fires, however late.
	rtoDeferred time.Time
	// took: the last packet HandleParsed was given was admitted, or taken
	// for a duplicate (Took).
	took bool
	// replyMicro is our latest measurement of the peer's one-way delay,
	// echoed as timestamp_difference (BEP 29).
	replyMicro uint32
	// peerNewest is the latest send time (the peer's timestamp) of the
	// packets received, set once peerSent; it tells reordered packets.
	peerNewest uint32
	peerSent   bool

	// synReply is the acceptor's first STATE, re-sent unchanged when a
	// duplicate SYN arrives (libutp behaviour).
	synReply     []byte
	synSeq       uint16 // the accepted SYN's seq_nr; immutable
	resendSynAck bool
	// sendReset asks PollTransmit for one RESET.
	sendReset bool
	// keepalivePending asks PollTransmit for one keepalive STATE (also a
	// RESET challenge, accept.go).
	keepalivePending bool
	// lastChallenge is when we last answered a plausible RESET; the
	// answer to that challenge must echo challengeAck until
	// challengeUntil (accept.go).
	lastChallenge    time.Time
	challengePending bool
	challengeAck     uint16
	challengeUntil   time.Time
	// amp bounds what an unproven acceptor sends (amplify.go).
	amp amplifyState
	// duty is what a dialer owes an acceptor that may be unproven
	// (proofduty.go).
	duty proofDuty

	// finAfterEOF: every transmission of our FIN carried our ACK of the
	// peer's FIN, so once the peer acknowledges our FIN it has that ACK and
	// no TIME-WAIT is needed.
	finAfterEOF bool
	// timeWaitRestarts counts the peer's retransmissions that restarted
	// TIME-WAIT (restartTimeWait).
	timeWaitRestarts uint8

	events pendingEvents
	stats  Stats
}

func newConn(now time.Time, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		cfg:      cfg,
		rtt:      cc.NewRTTEstimator(cfg.RTT),
		lastRecv: now,
		lastSend: now,
	}
	c.pmtu.init(cfg)
	c.snd.init(cfg)
	c.rcv.init(cfg)
	c.rcv.yield.init(now, cfg)
	return c // Dial and Accept size it (resize), which builds the controller
}

// Dial starts the dialer side of a connection. recvID is the connection id
// the peer will address us with (the SYN carries it; we send with
// recvID+1, BEP 29) and isn is our initial sequence number. The SYN is
// ready in PollTransmit.
func Dial(now time.Time, cfg Config, recvID, isn uint16) *Conn {
	c := newConn(now, cfg)
	c.resize(now) // until the acceptor answers, its size is CommonDatagram
	c.state = stateSynSent
	c.recvID, c.sendID = recvID, recvID+1
	c.snd.seqNr = isn
	c.snd.una = isn
	c.snd.queueControl(wire.Syn)
	return c
}

// Accept creates the acceptor side from a SYN's header. isn is our initial
// sequence number. Our STATE reply carries isn without consuming it, as
// libutp does, so the peer's ack_nr starts at isn−1 and our first DATA is
// isn.
func Accept(now time.Time, cfg Config, syn wire.Header, isn uint16) *Conn {
	c := newConn(now, cfg)
	c.state = stateConnected
	c.recvID, c.sendID = syn.ConnID+1, syn.ConnID
	c.snd.seqNr, c.snd.una, c.snd.isn = isn, isn, isn
	c.snd.unconfirmed = true
	c.rcv.ackNr = syn.SeqNr
	c.rcv.peerNext = syn.SeqNr + 1
	c.synSeq = syn.SeqNr
	c.learnPeerSize(now, &syn)
	c.snd.peerWnd = c.peerWindow(syn.WndSize)
	c.noteReceived(now, &syn)
	c.stats.PacketsReceived++
	c.noteIn(datagramLen(&syn, nil))
	var reply wire.Header
	c.header(&reply, now, wire.State, c.snd.seqNr)
	reply.MaxDatagram = c.advertised(&syn)
	c.synReply = reply.Append(nil) // sent, and counted, by PollTransmit
	c.resendSynAck = true
	c.setTimer(timerProof, now.Add(c.cfg.ProofTimeout))
	c.setTimer(timerProofRequest, now.Add(proofRequestDelay))
	c.events.set(EventConnected)
	c.arm(now)
	return c
}

// peerWindow is the send limit a peer's wnd_size allows. Some peers send 0
// in a SYN before they have a receive buffer; one packet keeps the
// connection able to start (docs/protocol.md).
func (c *Conn) peerWindow(w uint32) int {
	if w == 0 {
		return c.maxPayload()
	}
	return int(min(w, 1<<30))
}

// SameSyn reports whether syn is the SYN this acceptor was created from
// (a retransmission), rather than a new connection that reuses the id. It
// reads only immutable fields, so it needs no serialisation.
func (c *Conn) SameSyn(syn wire.Header) bool {
	return c.synReply != nil && syn.SeqNr == c.synSeq
}

// Confirmed reports whether the peer has proven its address: always for a
// dialer; for an acceptor once the dialer sent a packet whose ack_nr
// echoes our initial sequence number (EventProven reports the moment).
// An acceptor that is not confirmed may be answering a spoofed SYN: it
// sends nothing but its SYN reply and one empty DATA asking for the
// proof, within 3 times what it received (amplify.go), and ends silently
// after Config.ProofTimeout.
func (c *Conn) Confirmed() bool { return !c.snd.unconfirmed }

// RecvID is the connection id that packets for this Conn carry.
func (c *Conn) RecvID() uint16 { return c.recvID }

// SendID is the connection id this Conn puts on its packets.
func (c *Conn) SendID() uint16 { return c.sendID }

// MaxDatagram is the largest datagram PollTransmit can produce; its buf
// must be at least this long.
func (c *Conn) MaxDatagram() int {
	return max(dataOverhead(&c.cfg)+c.cfg.PacketSize, wire.HeaderSize+wire.MaxHandshakeExt,
		wire.HeaderSize+2+c.cfg.MaxSACKBytes) // a bare ACK's longer SACK
}

// Closed reports whether the connection has ended.
func (c *Conn) Closed() bool { return c.state == stateClosed }

// NextEvent returns the next pending event, or one of kind EventNone.
func (c *Conn) NextEvent() Event { return c.events.next() }

// HandlePacket processes one datagram addressed to this Conn. It does not
// retain b.
func (c *Conn) HandlePacket(now time.Time, b []byte) {
	h, payload, err := wire.Parse(b)
	if err != nil {
		c.stats.PacketsMalformed++
		c.noteIn(len(b))
		return
	}
	c.HandleParsed(now, &h, payload)
}

// HandleParsed is HandlePacket for a datagram the caller already parsed.
// It does not retain h, h.SACK or payload, and may change *h (it clears a
// TimestampDiff it will not take as a delay sample). A pointer, since a
// Header passed by value was copied whole at every packet, right after
// the parser stored it field by field: a stall on the store forwarding,
// most of the IO layer's own samples in applying a coalesced read.
func (c *Conn) HandleParsed(now time.Time, h *wire.Header, payload []byte) {
	c.took = false
	if c.state == stateClosed {
		return
	}
	c.stats.PacketsReceived++
	if c.snd.unconfirmed {
		c.noteIn(datagramLen(h, payload))
	}
	switch {
	case h.Type == wire.Reset:
		c.handleReset(now, h)
	case h.Type == wire.Syn:
		c.onSyn(now, *h)
	case c.state == stateSynSent:
		c.onSynReply(now, *h, payload)
	default:
		c.onPacket(now, h, payload)
	}
	c.arm(now)
}

// Took reports whether the last packet given to HandleParsed passed the
// acceptance rules (accept.go): admitted, or taken for a duplicate of one
// we have. An IO layer that keeps accounts per packet of its own (what
// a connection receives, whether its peer sent a FIN) counts only these,
// so that a forged packet the rules reject moves nothing there either.
func (c *Conn) Took() bool { return c.took }

// onSyn handles a SYN that reached an existing Conn: a retransmission of
// the SYN we accepted gets our saved reply again, unchanged (libutp).
//
// While the dialer is unproven its retransmitted SYN also restarts the
// proof timer: a dialer whose replies were lost is still dialing, and a
// spoofer that keeps the connection alive this way pays a SYN for each
// reply (amplify.go).
func (c *Conn) onSyn(now time.Time, h wire.Header) {
	if c.synReply != nil && h.ConnID == c.sendID {
		c.resendSynAck = true
		if c.snd.unconfirmed {
			c.setTimer(timerProof, now.Add(c.cfg.ProofTimeout))
		}
		return
	}
	c.stats.PacketsIgnored++
}

// onSynReply completes the dialer's handshake. The reply is normally a
// STATE, but DATA is accepted in its place because the acceptor may write
// first and its STATE may be lost. Either way the acceptor's seq_nr is the
// first sequence number it will use, so ack_nr starts one below it.
func (c *Conn) onSynReply(now time.Time, h wire.Header, payload []byte) {
	syn := c.snd.una
	if h.AckNr != syn || (h.Type != wire.State && h.Type != wire.Data) {
		c.stats.PacketsIgnored++
		return
	}
	c.state = stateConnected
	c.rcv.ackNr = h.SeqNr - 1
	c.rcv.peerNext = h.SeqNr
	c.learnPeerSize(now, &h)
	// The acceptor must hear a DATA packet from us: libutp's leaves
	// SYN_RECV, where it cannot send, only on ST_DATA
	// (utp_process_incoming); ours sends one packet until it hears from
	// us. Our first data does it, if it comes soon; else an empty DATA
	// (as go-libutp's dialer sends at once) when we wait to read, close,
	// or after the delayed-ACK interval (Confirm). A dialer that writes
	// first saves the acceptor a datagram and a step.
	c.snd.confirmDue = true
	c.setTimer(timerConfirm, now.Add(c.cfg.AckDelay))
	c.oweProof(syn)
	c.events.set(EventConnected)
	c.onPacket(now, &h, payload)
}

// Confirm sends the dialer's handshake confirmation now, as an empty
// DATA packet, unless data or an earlier call sent it. The IO layer calls
// it when a Read is about to wait: a peer that speaks first may need it
// before it can. It reports whether a packet is now due (PollTransmit).
func (c *Conn) Confirm() bool {
	if !c.snd.confirmDue || c.state != stateConnected {
		return false
	}
	c.confirmed()
	c.snd.queueControl(wire.Data)
	return true
}

// confirmed records that the handshake confirmation is on its way.
func (c *Conn) confirmed() {
	c.snd.confirmDue = false
	c.setTimer(timerConfirm, time.Time{})
}

// onPacket handles every packet of an established connection.
func (c *Conn) onPacket(now time.Time, h *wire.Header, payload []byte) {
	switch c.admit(h) {
	case admitNone:
		// Stray or forged: dropping the whole packet keeps it from
		// changing any state (accept.go).
		c.stats.PacketsIgnored++
		return
	case admitDup:
		c.took = true
		c.proveByDuplicate(now, h)
		if c.checkProofDuty(h, payload) && c.rewind.pending {
			// A repeated proof request answers the path question
			// too: the acceptor holds nothing of ours (proofduty.go).
			c.settleRewind(now)
		}
		c.stats.Duplicates++
		c.rcv.noteDuplicate(h)
		c.rcv.ackNow = true // our ACK may have been lost
		c.restartTimeWait(now)
		c.takeDuplicateAck(now, h)
		return
	}
	c.took = true
	c.noteReceived(now, h)
	if c.onDuplicateEcho(now, h) {
		h.TimestampDiff = 0 // the duplicate's delay includes its hold-up: no sample
	}
	c.notePeerSeq(h)
	c.proven(now)
	c.checkProofDuty(h, payload)
	wnd := int(min(h.WndSize, 1<<30))
	c.snd.wndGrew = wnd > c.snd.peerWnd
	c.snd.peerWnd = wnd
	c.rcv.yield.onPacket(now, h, c.replyMicro, len(payload))
	c.notePathRTT(h)
	c.onAck(now, h, len(payload))
	if c.rewind.pending {
		c.settleRewind(now)
	}
	switch h.Type {
	case wire.Data:
		c.onData(now, h.SeqNr, payload, false)
	case wire.Fin:
		c.onData(now, h.SeqNr, payload, true)
	}
	if c.state != stateClosed {
		c.checkDone(now)
	}
}

// noteReceived records what every accepted packet tells us: liveness and
// the one-way delay sample we echo back as timestamp_difference.
func (c *Conn) noteReceived(now time.Time, h *wire.Header) {
	c.lastRecv = now
	c.rcv.dupEcho = false // echo the newest packet, not an older duplicate
	if h.Timestamp != 0 {
		c.notePeerOrder(h.Timestamp)
		c.replyMicro = c.stamp(now) - h.Timestamp
		c.ctrl.OnPeerDelay(now, c.replyMicro)
	}
}

// notePeerOrder counts a packet the peer sent at ts (its microseconds)
// as late if one it sent later arrived first (Stats.ReceivedLate).
func (c *Conn) notePeerOrder(ts uint32) {
	switch lag := int32(c.peerNewest - ts); {
	case !c.peerSent || lag <= 0:
		c.peerNewest, c.peerSent = ts, true
	default:
		c.stats.ReceivedLate++
		c.stats.LateWorst = max(c.stats.LateWorst, time.Duration(lag)*time.Microsecond)
	}
}

// micros is the BEP 29 timestamp of now: microseconds, wrapping at 2^32.
// Only differences of these values are meaningful.
func micros(now time.Time) uint32 { return uint32(now.UnixMicro()) }

// stamp is the timestamp our packet sent at t carries: micros with the
// connection's offset (Config.TimestampOffset).
func (c *Conn) stamp(t time.Time) uint32 { return micros(t) + c.cfg.TimestampOffset }

// onReset honours a RESET from the peer (BEP 29): the connection ends at
// once. Before the handshake completes, it means the dial was refused.
//
// One RESET is not an error: once we hold the peer's whole stream (its FIN
// reached) and it acknowledged all our data, only the ACK of our FIN is
// missing. A peer that left TIME-WAIT (or never keeps one) answers our
// retransmitted FIN with RESET; the stream is complete either way.
//
// The same holds before our FIN, when everything we wrote is
// acknowledged: anacrolix/utp forgets a connection once its FIN is
// acknowledged (conn.go, lazyDestroy) and answers anything later with
// RESET, such as our ACK of a packet it resent when our first ACK came
// late. Nothing was lost then either, so the connection ends cleanly and
// Read reports io.EOF; only a Write from then on fails, with
// ErrConnReset, since nobody will read it (as Linux's TCP fails a write
// with EPIPE after a RST in CLOSE-WAIT).
func (c *Conn) onReset() {
	s := &c.snd
	switch {
	case c.state == stateSynSent:
		c.fail(ErrConnRefused)
	case s.finSent && c.rcv.eof && wire.SeqLessEq(s.finSeq, s.una):
		s.finAcked = true
		c.fail(nil)
	case !s.finSent && c.rcv.eof && s.ring.len() == 0 && s.una == s.seqNr:
		s.peerLeft = true
		c.fail(nil)
	default:
		c.fail(ErrConnReset)
	}
}

// fail ends the connection with err.
func (c *Conn) fail(err error) {
	if c.state == stateClosed {
		return
	}
	c.state = stateClosed
	c.events.closeErr = err
	c.events.set(EventClosed)
	c.events.set(EventReadable)
	c.events.set(EventWritable)
	c.timers, c.armed = timerTable{}, 0
	c.releaseClosed()
}

// Reset aborts the connection: one RESET is sent and the Conn closes with
// ErrLocalReset. Unsent and unread data is discarded.
//
// An acceptor whose peer never proved its address sends nothing
// (amplify.go).
func (c *Conn) Reset(now time.Time) {
	if c.state == stateClosed {
		return
	}
	c.sendReset = !c.snd.unconfirmed
	c.fail(ErrLocalReset)
}

// Drop ends the connection without sending anything, for a Socket that
// sheds an unconfirmed connection (possibly a spoofed SYN's) under load.
func (c *Conn) Drop(now time.Time) { c.fail(ErrLocalReset) }

// Err returns why the connection closed, nil while it is open or after a
// clean close.
func (c *Conn) Err() error { return c.events.closeErr }
