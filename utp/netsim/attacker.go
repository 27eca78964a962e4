package netsim

import (
	"math/rand/v2"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Attacker is an off-path node that forges uTP packets: it knows the
// addresses and ports of a connection's two ends (it sends with one as
// the source, Node.SendAs) and, depending on the test, the connection id
// or nothing more. Every field it does not know it draws from its own
// random stream, derived from the Sim's seed, so a run replays exactly.
//
// Connect the attacker's node to each node it attacks; that link models
// the attacker's own path.
type Attacker struct {
	node *Node
	rng  *rand.Rand

	// Sent and Bytes count the forged datagrams sent and their bytes.
	Sent, Bytes int64
}

// attackerStream is the derived random stream of attackers: far from the
// link streams, which count up from 1.
const attackerStream = 1 << 40

// NewAttacker adds an attacking node at addr. Datagrams sent to it are
// discarded (it is off-path: it sees nothing; Sim.Tap models one that
// does).
func (s *Sim) NewAttacker(addr Addr) *Attacker {
	return &Attacker{node: s.NewNode(addr, nil), rng: DerivedRand(s.seed, attackerStream+uint64(len(addr)))}
}

// Node returns the attacker's node, to connect it.
func (a *Attacker) Node() *Node { return a.node }

// Rand returns the attacker's random stream.
func (a *Attacker) Rand() *rand.Rand { return a.rng }

// Forgery says how to fill a forged packet's fields. A field whose Random
// flag is set is drawn uniformly from its whole range; otherwise the
// given value is used.
type Forgery struct {
	// Types to choose from, uniformly; empty means the given Type.
	Types []wire.Type
	Type  wire.Type

	ConnID    uint16
	RandomID  bool
	SeqNr     uint16
	RandomSeq bool
	AckNr     uint16
	RandomAck bool
	WndSize   uint32
	RandomWnd bool
	// Payload is the number of random payload bytes on a DATA or FIN.
	Payload int
}

// Build draws one packet from f.
func (a *Attacker) Build(f Forgery) (wire.Header, []byte) {
	r := a.rng
	h := wire.Header{Type: f.Type, ConnID: f.ConnID, SeqNr: f.SeqNr, AckNr: f.AckNr, WndSize: f.WndSize,
		Timestamp: r.Uint32(), TimestampDiff: r.Uint32()}
	if len(f.Types) > 0 {
		h.Type = f.Types[r.IntN(len(f.Types))]
	}
	if f.RandomID {
		h.ConnID = uint16(r.Uint32())
	}
	if f.RandomSeq {
		h.SeqNr = uint16(r.Uint32())
	}
	if f.RandomAck {
		h.AckNr = uint16(r.Uint32())
	}
	if f.RandomWnd {
		h.WndSize = r.Uint32()
	}
	var payload []byte
	if h.Type == wire.Data || h.Type == wire.Fin {
		payload = make([]byte, f.Payload)
		for i := range payload {
			payload[i] = byte(r.Uint32())
		}
	}
	return h, payload
}

// Forge sends one packet drawn from f to dst, forged to come from src, and
// returns its header.
func (a *Attacker) Forge(src, dst Addr, f Forgery) wire.Header {
	h, payload := a.Build(f)
	a.SendForged(src, dst, append(h.Append(nil), payload...))
	return h
}

// SendForged sends the datagram b to dst, forged to come from src.
func (a *Attacker) SendForged(src, dst Addr, b []byte) {
	a.Sent++
	a.Bytes += int64(len(b))
	a.node.SendAs(src, dst, b)
}
