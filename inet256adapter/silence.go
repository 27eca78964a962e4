package inet256adapter

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/inet256/inet256/pkg/inet256"
)

// silentAfter is how long a peer must have been silent while the node
// kept writing to it before a failure of the node is blamed on it.
const silentAfter = 2 * time.Second

// peerTraffic remembers, per peer, when a message last came from it and
// when the node last wrote to it. The reference daemon drops a node that
// writes to an address it can no longer route: its read loop waits up to
// 3 s for a route (routers.Network.Tell, pkg/mesh256/routers/routers.go)
// and its watchdog cancels a node whose frames stop for 3 s
// (inet256ipc.ServeNode). So a peer whose node or daemon went away takes
// down the nodes still writing to it, 20 to 45 s later (measured,
// docs/inet256.md); the node's failure then names that peer (PeerSilentError).
type peerTraffic struct {
	mu sync.Mutex
	m  map[inet256.Addr]*traffic
}

type traffic struct {
	heard, wrote time.Time
	unanswered   int // writes since the last message from the peer
}

func (p *peerTraffic) init() { p.m = make(map[inet256.Addr]*traffic) }

// entry returns addr's record, creating it if there is room. p.mu is held.
func (p *peerTraffic) entry(addr inet256.Addr, now time.Time) *traffic {
	if t := p.m[addr]; t != nil {
		return t
	}
	if len(p.m) >= maxPeers {
		for a, t := range p.m {
			if now.Sub(t.heard) > time.Minute && now.Sub(t.wrote) > time.Minute {
				delete(p.m, a)
			}
		}
		if len(p.m) >= maxPeers {
			return nil
		}
	}
	t := &traffic{}
	p.m[addr] = t
	return t
}

// heardFrom records a message from addr.
func (p *peerTraffic) heardFrom(addr inet256.Addr, now time.Time) {
	p.mu.Lock()
	if t := p.entry(addr, now); t != nil {
		t.heard, t.unanswered = now, 0
	}
	p.mu.Unlock()
}

// wroteTo records a message handed to the node for addr.
func (p *peerTraffic) wroteTo(addr inet256.Addr, now time.Time) {
	p.mu.Lock()
	if t := p.entry(addr, now); t != nil {
		t.wrote = now
		t.unanswered++
	}
	p.mu.Unlock()
}

// silent returns the peer the node kept writing to longest after it fell
// silent, and how long it had been silent at the last write. A peer
// qualifies if it fell silent at least silentAfter before the node's last
// message of any kind (lastArrival), while the node was still served, and
// was written to at least twice since, over silentAfter or more: when the
// node itself stops being served every peer falls silent at once, and a
// healthy idle peer is written one keepalive between two of its own.
// Peers never heard from are left out.
func (p *peerTraffic) silent(lastArrival time.Time) (addr inet256.Addr, silence time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, t := range p.m {
		if t.heard.IsZero() || t.unanswered < 2 || lastArrival.Sub(t.heard) < silentAfter {
			continue
		}
		if d := t.wrote.Sub(t.heard); d >= silentAfter && d > silence {
			addr, silence, ok = a, d, true
		}
	}
	return addr, silence, ok
}

// PeerSilentError is the cause of a node failure (ErrNodeFailed) that
// followed writes to a peer that had stopped answering: its node was
// closed or its daemon went away, and the reference daemon drops a node
// that keeps writing to an address it can no longer route. It matches
// ErrPeerSilent.
type PeerSilentError struct {
	Peer    inet256.Addr  // the peer written to after it fell silent
	Silence time.Duration // how long it had been silent at the last write
	Err     error         // how the node's failure showed
}

// ErrPeerSilent matches a node failure blamed on a peer that went away
// (PeerSilentError).
var ErrPeerSilent = errors.New("inet256adapter: a peer written to stopped answering")

func (e *PeerSilentError) Error() string {
	return fmt.Sprintf("%v; this node kept writing to %v, silent for %v, and the daemon drops a node that writes to an address it can no longer route: the peer's node or daemon went away",
		e.Err, e.Peer, e.Silence.Round(100*time.Millisecond))
}

// Unwrap returns how the failure showed.
func (e *PeerSilentError) Unwrap() error { return e.Err }

// Is reports whether target is ErrPeerSilent.
func (e *PeerSilentError) Is(target error) bool { return target == ErrPeerSilent }
