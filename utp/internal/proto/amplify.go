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
// the dialer, retransmissions included, and only its SYN reply: no data,
// no keepalive, no FIN, no RESET. QUIC bounds a server the same way
// before address validation (RFC 9000 8.1). libutp's acceptor does not
// send data before it hears DATA either (it leaves SYN_RECV only then).
//
// An unproven connection that is reset (Reset, Drop), or still unproven
// after Config.ProofTimeout, ends silently; a FIN (CloseWrite) waits for
// the proof like data.

// amplificationFactor bounds what an unproven acceptor sends: RFC 9000
// 8.1's three times what it received.
const amplificationFactor = 3

// amplifyState counts the UDP payload bytes exchanged before the proof.
type amplifyState struct {
	bytesIn  int // received from the dialer
	bytesOut int // sent to it
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

// noteOut counts a datagram sent while unproven.
func (c *Conn) noteOut(n int) {
	if c.snd.unconfirmed {
		c.amp.bytesOut += n
	}
}

// proven records the dialer's proof: from now on the connection may send
// freely. The IO layer learns it through EventProven.
func (c *Conn) proven() {
	if !c.snd.unconfirmed {
		return
	}
	c.snd.unconfirmed = false
	c.timers[timerProof] = time.Time{}
	c.events.set(EventProven)
}

// dropUnproven ends an unproven connection without sending anything: a
// spoofed SYN's address must not hear from us again.
func (c *Conn) dropUnproven(err error) {
	c.sendReset = false
	c.fail(err)
}
