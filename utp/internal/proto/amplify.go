package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// No amplification (docs/security.md).
//
// A SYN's source address may be forged: answering it generously would
// make us a reflector toward the address it names. An acceptor is
// therefore unproven until the dialer shows it received our reply: an
// admitted packet whose ack_nr echoes our random initial sequence number
// (the dialer's ack_nr starts one below it, as libutp's does). Until then
// it sends at most amplificationFactor times the bytes it received from
// the dialer, retransmissions included: its SYN reply, and one empty DATA
// packet, the proof request, which any dialer acknowledges. No data, no
// keepalive, no FIN, no RESET. QUIC bounds a server the same way before
// address validation (RFC 9000 8.1). libutp's acceptor does not send data
// before it hears DATA either (it leaves SYN_RECV only then).
//
// The proof request goes out when the application has something to send,
// or proofRequestDelay after the SYN: a dialer that waits for the server
// to speak first and sends nothing until then (anacrolix/utp's) proves
// itself by acknowledging it, and the Socket can hand it to Accept.
//
// An unproven connection that is reset (Reset, Drop), or still unproven
// after Config.ProofTimeout, ends silently; a FIN (CloseWrite) waits for
// the proof like data.

// amplificationFactor bounds what an unproven acceptor sends: RFC 9000
// 8.1's three times what it received.
const amplificationFactor = 3

// proofRequestDelay is how long an acceptor waits for the dialer's proof
// before it asks for one. Most dialers prove themselves within a round
// trip (ours with its first DATA or its confirmation 10 ms after the
// handshake; BitTorrent clients with their handshake); a request sent
// anyway costs one 20-byte packet.
const proofRequestDelay = 250 * time.Millisecond

// amplifyState counts the UDP payload bytes exchanged before the proof.
type amplifyState struct {
	bytesIn  int  // received from the dialer
	bytesOut int  // sent to it
	wanted   bool // the proof request is due
}

// datagramLen is the UDP payload length of a parsed packet, counting the
// extensions we know (an unknown one makes it an underestimate, which
// only tightens the bound).
func datagramLen(h *wire.Header, payload []byte) int { return h.Len() + len(payload) }

// noteIn counts a datagram received while unproven.
func (c *Conn) noteIn(n int) {
	if c.snd.unconfirmed {
		c.amp.bytesIn += n
	}
}

// mayReplySyn reports whether the saved SYN reply fits the budget.
func (c *Conn) mayReplySyn() bool {
	if !c.snd.unconfirmed {
		return true
	}
	return c.amp.bytesOut+len(c.synReply) <= amplificationFactor*c.amp.bytesIn
}

// noteOut counts a datagram sent while unproven: only the SYN reply and
// the proof request are (poll).
func (c *Conn) noteOut(n int) {
	if c.snd.unconfirmed {
		c.amp.bytesOut += n
	}
}

// proven records the dialer's proof: from now on the connection may send
// freely. The IO layer learns it through EventProven. The tail probe's
// clock starts here: while unproven the connection probes nothing, and
// the base left from its last send, seconds old after backed-off
// resends, would make a deadline already past.
func (c *Conn) proven(now time.Time) {
	if !c.snd.unconfirmed {
		return
	}
	c.snd.unconfirmed = false
	c.tlpNews(now, false)
	c.setTimer(timerProof, time.Time{})
	c.setTimer(timerProofRequest, time.Time{})
	c.events.set(EventProven)
}

// proveByDuplicate takes a duplicate as the dialer's proof when it can
// only be the question of a dialer whose path looked shrunk (pmtu.go: an
// empty DATA with the seq_nr before its oldest unacknowledged one, here
// its SYN's, the last we took): its ack_nr passed admit, so it echoes our
// initial sequence number. It may be all that crosses a path too narrow
// for the dialer's data (sweep seed 8108: five questions arrived, none
// proved, and the acceptor ended at ProofTimeout). Only that one seq_nr
// proves, so a forged proof stays as unlikely as through data.
func (c *Conn) proveByDuplicate(now time.Time, h *wire.Header) {
	if c.snd.unconfirmed && h.SeqNr == c.rcv.ackNr {
		c.proven(now)
	}
}

// dropUnproven ends an unproven connection without sending anything: a
// spoofed SYN's address must not hear from us again.
func (c *Conn) dropUnproven(err error) {
	c.sendReset = false
	c.fail(err)
}

// AskProof makes an unproven acceptor send its proof request now (within
// the budget). The IO layer calls it on an acceptor rebuilt from a
// handshake it shed under a flood: the shed one may have sent its
// request, which took our initial sequence number, and the dialer may
// have received it. The rebuilt one must take that number the same way,
// or its first data would reuse a sequence number the dialer has already
// seen, and be taken for a duplicate.
func (c *Conn) AskProof(now time.Time) {
	if c.snd.unconfirmed {
		c.amp.wanted = true
		c.arm(now)
	}
}

// mayAmplify reports whether n more bytes fit the budget.
func (c *Conn) mayAmplify(n int) bool {
	return c.amp.bytesOut+n <= amplificationFactor*c.amp.bytesIn
}

// proofRequest returns the sequence number of the proof request to send
// now, if any: the empty DATA packet an unproven acceptor may send, first
// when data or a FIN waits or proofRequestDelay has passed, again when
// the retransmission timer declared it lost, each time within the budget.
// It takes our initial sequence number, so the dialer, whichever of our
// reply and this packet it sees first, learns the same first number.
func (c *Conn) proofRequest() (uint16, bool) {
	s := &c.snd
	// A bare header: an unproven acceptor holds no data, so no SACK.
	if c.state != stateConnected || !c.mayAmplify(wire.HeaderSize) {
		return 0, false
	}
	if s.inUse() > 0 {
		if p := s.pkt(s.una); p.lost {
			return s.una, true
		}
		return 0, false
	}
	if !c.amp.wanted && s.ring.len() == 0 && !s.finQueued {
		return 0, false
	}
	seq := s.seqNr
	s.assign(wire.Data, s.next, 0)
	return seq, true
}
