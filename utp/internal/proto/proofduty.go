package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// The dialer's side of amplify.go: its proof must cross.
//
// Our acceptor sends nothing but its SYN reply and proof requests until
// an admitted packet from the dialer echoes its initial sequence number,
// and ends silently Config.ProofTimeout after the dialer's last SYN. The
// dialer's first data is its proof, but data may not cross: on a path
// narrower than the dialer's packets every data packet is black-holed
// until discovery finds the hole (two timeouts, pmtu.go), and random loss
// takes the rest. Sweep seed 4105 (19% loss, an IPv4 path of a few
// hundred bytes): the proof request reached the dialer, whose answer rode
// on two full-size data packets that could never pass; its next three
// small packets in 10 s were lost, and the acceptor ended.
//
// So, until the acceptor shows it heard us, the dialer owes the proof in
// a packet every path carries, a bare STATE (whose ack_nr echoes the
// acceptor's initial sequence number, which is all the proof is):
//   - at once, and before any data, when a proof request arrives, first or
//     repeated: the acceptor is waiting, and an answer that rides on data
//     shares the data's fate (the handshake's confirmation, if still due,
//     goes at once instead: an empty DATA is as bare, and proves too);
//   - at each retransmission timeout whose oldest packet carries data,
//     beside the retransmission (after a black hole is suspected, the
//     path question of pmtu.go, a bare DATA, proves as well).
// QUIC's client does the same for a server blocked by its amplification
// limit: it sends on every probe timeout until the server has
// acknowledged one of its handshake packets (RFC 9002 6.2.2.1). The cost
// is a 20-byte packet per timeout before the first acknowledgement, and
// one per proof request; peers that ask for no proof (libutp, libtorrent,
// anacrolix/utp) see a duplicate ACK at most, which changes nothing.

// proofDuty is what a dialer owes an acceptor that may be unproven.
type proofDuty struct {
	owed   bool   // the acceptor has not shown that it heard us since our SYN
	syn    uint16 // our SYN's seq_nr: any other ack_nr shows we were heard
	ackDue bool   // a bare STATE goes out before anything else
}

// oweProof starts the duty when the dialer's handshake completes.
func (c *Conn) oweProof(syn uint16) {
	c.duty = proofDuty{owed: true, syn: syn}
}

// checkProofDuty looks at an admitted packet from the acceptor and
// reports whether it is a proof request: an empty DATA that acknowledges
// only our SYN, answered at once, with the handshake's confirmation (an
// empty DATA, which proves as well) if it is still due, else with a bare
// STATE. An ack_nr other than our SYN's shows that the acceptor heard us
// (an unproven one acknowledges nothing else); so does anything other
// than a SYN reply or a proof request (data or a FIN: our acceptor sends
// them only once proven, and other implementations ask no proof).
//
// A request also says that the acceptor holds none of our data, since
// any of it would have proven us: a dialer that stopped sending to ask
// what the peer holds (pmtu.go, rewindState) may take it for the answer.
func (c *Conn) checkProofDuty(h *wire.Header, payload []byte) bool {
	d := &c.duty
	if !d.owed {
		return false
	}
	request := h.Type == wire.Data && len(payload) == 0
	if h.AckNr != d.syn || (h.Type != wire.State && !request) {
		*d = proofDuty{}
		return false
	}
	if request && !c.Confirm() {
		d.ackDue = true
	}
	return request
}

// proveOnTimeout queues a bare proof beside a retransmission timeout's
// resend of data, which may be too large for the path. A timeout that
// found a black hole needs none: its path question is bare and proves.
func (c *Conn) proveOnTimeout() {
	s := &c.snd
	if c.duty.owed && !c.rewind.pending && s.inUse() > 0 && s.pkt(s.una).n > 0 {
		c.duty.ackDue = true
	}
}

// pollProof writes the bare STATE the duty calls for, if one is due.
func (c *Conn) pollProof(now time.Time, buf []byte) (int, bool) {
	if !c.duty.ackDue || c.state != stateConnected {
		return 0, false
	}
	c.duty.ackDue = false
	return c.finishControl(now, buf, wire.State), true
}
