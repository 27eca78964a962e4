package inet256adapter

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/inet256/inet256/pkg/inet256"
)

// maxPeers bounds the lookup cache. Every sender on INET256 proves its key,
// so the cache grows only with real peers; past the bound, finished entries
// are forgotten and looked up again when next needed.
const maxPeers = 4096

// peerCache remembers which peers' public keys were found. An entry is
// created when a lookup starts; its done channel is closed when the lookup
// ends, and err (nil: found) is written before that. Failed entries expire
// after negativeTTL.
type peerCache struct {
	mu     sync.Mutex
	m      map[inet256.Addr]*peerEntry
	closed bool // no lookup starts after Close
}

type peerEntry struct {
	done  chan struct{}
	err   error
	ended time.Time // when the lookup ended; read under peerCache.mu
}

func (c *peerCache) init() { c.m = make(map[inet256.Addr]*peerEntry) }

// lookup returns addr's entry, starting a lookup if there is none or the
// last one failed more than negativeTTL ago. It returns nil after close.
func (c *peerCache) lookup(pc *PacketConn, addr inet256.Addr) *peerEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if e := c.m[addr]; e != nil {
		if !isClosed(e.done) || e.err == nil || time.Since(e.ended) < negativeTTL {
			return e
		}
	}
	if len(c.m) >= maxPeers {
		c.evict()
	}
	e := &peerEntry{done: make(chan struct{})}
	c.m[addr] = e
	pc.stats.lookups.Add(1)
	pc.wg.Add(1)
	go c.run(pc, addr, e)
	return e
}

// prefetch starts a lookup for a peer that just sent a message, unless one
// is known or under way.
func (c *peerCache) prefetch(pc *PacketConn, addr inet256.Addr) {
	c.mu.Lock()
	_, known := c.m[addr]
	c.mu.Unlock()
	if !known {
		c.lookup(pc, addr)
	}
}

// run performs one lookup, bounded by the lookup timeout and by Close.
func (c *peerCache) run(pc *PacketConn, addr inet256.Addr, e *peerEntry) {
	defer pc.wg.Done()
	ctx, cancel := context.WithTimeout(pc.ctx, pc.cfg.lookupTimeout)
	pub, err := pc.node.LookupPublicKey(ctx, addr)
	cancel()
	if err == nil && inet256.NewAddr(pub) != addr {
		err = errors.New("the key found does not match the address")
	}
	if err != nil {
		pc.stats.lookupFailures.Add(1)
		if isTransportFailure(err) {
			pc.fail(err)
		}
	}
	c.mu.Lock()
	e.err = err
	e.ended = time.Now()
	close(e.done)
	c.mu.Unlock()
}

// forget drops addr's entry if its lookup has ended, so that the next
// send looks it up again.
func (c *peerCache) forget(addr inet256.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[addr]; e != nil && isClosed(e.done) {
		delete(c.m, addr)
	}
}

// evict forgets finished entries, failed ones first, until the cache is
// below its bound. c.mu is held.
func (c *peerCache) evict() {
	for addr, e := range c.m {
		if isClosed(e.done) && e.err != nil {
			delete(c.m, addr)
		}
	}
	for addr, e := range c.m {
		if len(c.m) < maxPeers {
			return
		}
		if isClosed(e.done) {
			delete(c.m, addr)
		}
	}
}

// close stops new lookups; those under way end with the PacketConn's
// context.
func (c *peerCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}
