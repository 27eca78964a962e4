package utp

// Dialing: each attempt registers a dialer under a fresh connection id and
// waits for its handshake; the routing of its replies is in route.go.

import (
	"context"
	"errors"
	"net"
	"slices"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// DialContext opens a connection to addr. It ends when the handshake
// completes, the peer refuses (ErrConnRefused), ctx ends, or after 39 s
// (ErrTimedOut). Each connection id gets SYNs at 0 and 1 s; every 3 s the
// dial starts over with a fresh id, because libutp never re-sends a lost
// reply to a repeated SYN. When every connection id toward addr is held
// by a connection that is open or still closing, the dial waits for one
// to be freed (within the same bounds) rather than fail.
func (s *Socket) DialContext(ctx context.Context, addr net.Addr) (net.Conn, error) {
	c, err := s.DialUTP(ctx, addr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialUTP is DialContext returning the concrete type.
func (s *Socket) DialUTP(ctx context.Context, addr net.Addr) (*Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "utp", Source: s.LocalAddr(), Addr: addr, Err: err}
	}
	if addr == nil {
		return nil, opErr(errors.New("nil address"))
	}
	deadline := time.Now().Add(dialBudget)
	var tried []uint16 // this dial's ids so far: each attempt takes a new one
	for {
		c, err := s.newDialer(addr, s.pathFor(s.sourceOf(addr), s.clock.now()), tried)
		if err == errNoFreeID {
			err = s.awaitFreeID(ctx, addr, deadline)
			if err == nil {
				continue
			}
		}
		if err != nil {
			return nil, opErr(err)
		}
		tried = append(tried, c.key.id)
		c, err = s.dialAttempt(ctx, c)
		switch {
		case c != nil:
			s.tel.connOpened(true, addr)
			return c, nil
		case err != nil:
			return nil, opErr(err)
		case !time.Now().Before(deadline):
			return nil, opErr(ErrTimedOut)
		}
	}
}

const (
	// dialSynRetries makes one connection id's attempt last 3 s: SYNs at
	// 0 and 1 s (the initial RTO), and the state machine gives up when the
	// doubled RTO expires at 3 s. The dial then starts over with a fresh
	// id: libutp silently drops a repeated SYN for a connection it
	// already has and never re-sends its reply, so once that reply is
	// lost only a new id helps. The state machine's own timer keeps the
	// time, so a dial arms no timer of its own.
	dialSynRetries = 1
	// dialBudget bounds a dial without a context deadline: 13 attempts.
	dialBudget = 39 * time.Second
)

// dialAttempt waits for one dialer's handshake. It returns the connected
// Conn, or an error that ends the dial, or neither when this id's SYNs
// went unanswered and the dial should go on with a new id.
func (s *Socket) dialAttempt(ctx context.Context, c *Conn) (*Conn, error) {
	c.step(nil) // the SYN
	if !s.lead.awaitDial(ctx, c) {
		s.awaitNetwork()
		defer s.doneWaiting()
	}
	select {
	case <-c.connected:
		return c, nil
	case <-c.closed:
		select {
		case <-c.connected: // connected, then closed at once: let Read report it
			return c, nil
		default:
		}
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err == ErrTimedOut {
			return nil, nil
		}
		return nil, err
	case <-ctx.Done():
		c.step(func(now time.Time, m *proto.Conn) { m.Reset(now) })
		return nil, ctx.Err()
	case <-s.done:
		return nil, s.closedErr()
	}
}

// newDialer registers a dialing connection under a free receive id. When
// random draws find none (thousands of connections to this peer in
// TIME-WAIT), it takes over the id of our oldest connection to the peer
// in TIME-WAIT, which it ends: the peer's side of that connection, if it
// still waits, is reopened by the new SYN, as a SYN reopens TIME-WAIT on
// our side (route), and as RFC 6191 lets TCP. Random draws avoid the ids
// in tried, the dial's earlier attempts: a peer such as libutp that still
// holds one of them would take our SYN for a repeat and stay silent.
func (s *Socket) newDialer(addr net.Addr, path pathInfo, tried []uint16) (*Conn, error) {
	c, err := s.registerDialer(addr, path, nil, tried)
	if c != nil || err != nil {
		return c, err
	}
	s.mu.Lock()
	olds := s.oldestWaits(64, s.keyOf(addr, 0))
	s.mu.Unlock()
	for i := range olds {
		if c, err := s.registerDialer(addr, path, &olds[i], nil); c != nil || err != nil {
			return c, err
		}
	}
	return nil, errNoFreeID
}

// errNoFreeID: every connection id toward the peer is held by a
// connection that is open or still closing (none in TIME-WAIT to take
// over).
var errNoFreeID = errors.New("no free connection id for this peer")

// idRecheck is how often a dial waiting for a free id looks again.
const idRecheck = 50 * time.Millisecond

// awaitFreeID waits, when every id toward addr is held, until one of our
// connections to addr leaves the Socket: a closing connection frees its
// id within its linger, so the dial waits for that rather than fail (a
// client churning through short connections to one peer otherwise fails
// dials while its ids are still closing). It returns errNoFreeID when no
// connection to addr is left to wait for, and ends with ctx, the dial's
// deadline or the Socket.
func (s *Socket) awaitFreeID(ctx context.Context, addr net.Addr, deadline time.Time) error {
	left := s.anyConnTo(addr)
	if left == nil {
		return errNoFreeID
	}
	budget := time.NewTimer(time.Until(deadline))
	defer budget.Stop()
	// A connection that enters TIME-WAIT meanwhile frees its id for a
	// takeover (newDialer) without leaving the table, and has no signal
	// for it: look again after a short while too.
	again := time.NewTimer(idRecheck)
	defer again.Stop()
	select {
	case <-left:
		return nil
	case <-again.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-budget.C:
		return ErrTimedOut
	case <-s.done:
		return s.closedErr()
	}
}

// anyConnTo returns the Done channel of one of our connections to addr
// in the table, or nil if there is none.
func (s *Socket) anyConnTo(addr net.Addr) <-chan struct{} {
	key := s.keyOf(addr, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.conns {
		if k.ap == key.ap && k.addr == key.addr {
			return c.left
		}
	}
	return nil
}

// registerDialer registers a dialer under a random free id, or, given
// old, the queue entry of one of our dialers' records in TIME-WAIT
// (timewait.go), under old's id in the record's place; the record then
// ends silently. The dialer is built outside s.mu, which it would hold
// for the state machine's allocations (16 goroutines churning through
// one Socket waited on s.mu there more than anywhere else); the table
// then changes in one step, after the id is checked again, so that
// concurrent dials cannot take the same id. It returns nil and no error
// if the ids drawn are taken, or old's record is no longer in the table.
func (s *Socket) registerDialer(addr net.Addr, path pathInfo, old *timeWait, tried []uint16) (*Conn, error) {
	tries := 64
	if old != nil {
		tries = 1
	}
	cfg := s.protoConfig(addr, path)
	cfg.SynRetries = dialSynRetries
	for range tries {
		id, isn, ok, err := s.drawDial(addr, old)
		if err != nil {
			return nil, err
		}
		if !ok || slices.Contains(tried, id) {
			continue
		}
		now := s.clock.now()
		key := s.keyOf(addr, id)
		cfg.TimestampOffset = s.stampOffset(key)
		c := newConn(s, addr, key, proto.Dial(now, cfg, id, isn), now)
		c.syn = synRecord{id: id, isn: isn}
		inserted, err := s.insertDialer(c, old)
		if err != nil {
			return nil, err
		}
		if !inserted {
			continue // taken meanwhile by a concurrent dial
		}
		return c, nil
	}
	return nil, nil
}

// drawDial draws a receive id (old's, given old) and an initial sequence
// number for a dialer to addr, and reports whether the id is free.
func (s *Socket) drawDial(addr net.Addr, old *timeWait) (id, isn uint16, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.drain.on {
		return 0, 0, false, s.closedErrLocked()
	}
	id = s.drawDialID()
	if old != nil {
		id = old.key.id
	}
	isn = uint16(s.rng.Uint32())
	if old != nil && isn == s.waiting[old.key].isn {
		// The peer may still hold old's connection, and would take a SYN
		// with the same sequence number for old's, repeated
		// (proto.Conn.SameSyn): its reply would be old's.
		isn++
	}
	return id, isn, s.dialIDFree(addr, id, old), nil
}

// insertDialer puts c in the table if its id is still free, in the place
// of old's record given old. It reports whether it did.
func (s *Socket) insertDialer(c *Conn, old *timeWait) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.drain.on {
		return false, s.closedErrLocked()
	}
	if !s.dialIDFree(c.raddr, c.key.id, old) {
		return false, nil
	}
	if r, ok := s.waiting[c.key]; ok {
		s.endWait(c.key, r) // old's, which dialIDFree let go
	}
	s.conns[c.key] = c
	s.stats.dialed.Add(1)
	return true, nil
}

// dialIDFree reports whether a dialer to addr may take id: no connection
// has it, nor a record in TIME-WAIT (but old's, which the dialer
// replaces, while it is there), and its neighbour id+1 is free or in
// TIME-WAIT. The peer addresses us with id; a RESET may carry id+1,
// which lookup gives first to a connection whose receive id it is: such
// a neighbour may only be in TIME-WAIT, where a RESET taken for it costs
// nothing. s.mu is held.
func (s *Socket) dialIDFree(addr net.Addr, id uint16, old *timeWait) bool {
	key := s.keyOf(addr, id)
	if s.conns[key] != nil {
		return false
	}
	if r, ok := s.waiting[key]; ok && (old == nil || r.serial != old.serial) {
		return false
	}
	n := s.conns[s.keyOf(addr, id+1)]
	return n == nil || n.timeWaiting.Load()
}

// drawDialID draws a receive id for a dialer: any of the 65,536, or, in
// tests, one of the first cfg.dialIDs. s.mu is held.
func (s *Socket) drawDialID() uint16 {
	if s.cfg.dialIDs > 0 {
		return uint16(s.rng.IntN(s.cfg.dialIDs))
	}
	return uint16(s.rng.Uint32())
}
