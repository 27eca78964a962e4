package inet256adapter

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inet256/inet256/pkg/inet256"
)

// closeWait bounds how long Close waits for the PacketConn's goroutines. A
// node whose Receive or LookupPublicKey ignores both Close and context
// cancellation would otherwise hang Close; such a goroutine then ends when
// the node call returns.
const closeWait = 2 * time.Second

// closeFlush is how long Close lets the daemon take the last message
// before it closes the node. A message sent just before the node closes
// is often lost: measured through two reference daemons, the RESET of a
// Socket closed by 'utp send' on SIGINT reached the peer in 4 of 8 runs,
// and in 8 of 8 with this wait (docs/inet256.md).
const closeFlush = 200 * time.Millisecond

// PacketConn is a net.PacketConn over an inet256.Node. Addresses are
// inet256.Addr values. Unlike inet256.NewPacketConn it honours the
// net.PacketConn contract:
//
//   - the zero deadline means none, and a deadline changed during a
//     blocked ReadFrom or WriteTo takes effect at once;
//   - a message longer than ReadFrom's buffer is reported (TruncatedError),
//     not silently cut;
//   - Close unblocks ReadFrom and stops the receiving goroutine even when
//     the node's Receive ignores Close (a daemon-backed node's does), by
//     receiving under a context that Close cancels;
//   - no lock is held while the node sends.
//
// One goroutine drains the node into a bounded queue (WithReceiveQueue),
// so the daemon's own small queue does not overflow while a reader is
// busy. The first message to a peer waits for its public key to be found
// (see WriteTo). A PacketConn owns its node: Close closes it.
type PacketConn struct {
	node inet256.Node
	cfg  config

	// ctx is cancelled by Close and when the node fails: it ends the
	// receive pump, the probe and any lookup.
	ctx    context.Context
	cancel context.CancelFunc

	queue chan message
	bufs  sync.Pool // *[inetMTU]byte

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	failed    chan struct{}
	failOnce  sync.Once
	failErr   error // set before failed is closed

	self        inet256.Addr
	probeMsg    []byte         // what probe sends to self: a fixed text and a random nonce
	heard       atomic.Uint64  // messages received, probes included
	wg          sync.WaitGroup // the pump, the probe and lookups
	rdl, wdl    *deadline
	peers       peerCache
	traffic     peerTraffic
	lastSend    atomic.Int64 // when WriteTo last handed a message to the node, Unix ns
	lastArrival atomic.Int64 // when the node last delivered a message, probes included, Unix ns
	stats       counters
}

// probePrefix starts the message a PacketConn sends itself (see probe); a
// random nonce follows, so that no other message can be taken for it.
const probePrefix = "inet256adapter probe "

// message is one received message waiting for ReadFrom, in a pooled
// buffer.
type message struct {
	buf  *[inetMTU]byte
	n    int
	from inet256.Addr
}

// NewPacketConn returns a PacketConn over node, which it owns. It starts
// the goroutine that receives from node.
func NewPacketConn(node inet256.Node, opts ...Option) *PacketConn {
	cfg := newConfig(opts)
	ctx, cancel := context.WithCancel(context.Background())
	pc := &PacketConn{
		node:   node,
		cfg:    cfg,
		ctx:    ctx,
		cancel: cancel,
		queue:  make(chan message, cfg.receiveQueue),
		closed: make(chan struct{}),
		failed: make(chan struct{}),
		rdl:    newDeadline(),
		wdl:    newDeadline(),
	}
	pc.bufs.New = func() any { return new([inetMTU]byte) }
	pc.self = node.LocalAddr()
	pc.probeMsg = make([]byte, len(probePrefix)+16)
	copy(pc.probeMsg, probePrefix)
	_, _ = crand.Read(pc.probeMsg[len(probePrefix):])
	pc.peers.init()
	pc.traffic.init()
	pc.wg.Add(1)
	go pc.pump()
	if cfg.probeInterval > 0 {
		pc.wg.Add(1)
		go pc.probe()
	}
	return pc
}

// pump moves messages from the node to the queue until Close or failure.
func (pc *PacketConn) pump() {
	defer pc.wg.Done()
	for {
		err := pc.node.Receive(pc.ctx, pc.deliver)
		if pc.ctx.Err() != nil {
			return
		}
		if err != nil {
			// A node's Receive fails only when the node is closed or broken
			// (inet256mem: net.ErrClosed after Close); retrying would spin.
			pc.fail(err)
			return
		}
	}
}

// deliver copies one message into the queue; the node owns m's payload
// only during the call. A full queue drops the message, as a full UDP
// receive buffer does: uTP retransmits.
func (pc *PacketConn) deliver(m inet256.Message) {
	now := time.Now()
	pc.heard.Add(1)
	pc.lastArrival.Store(now.UnixNano())
	if m.Src == pc.self && bytes.Equal(m.Payload, pc.probeMsg) {
		return // our own probe: the daemon still serves the node
	}
	if len(m.Payload) > inetMTU {
		pc.stats.dropped.Add(1)
		return
	}
	b := pc.bufs.Get().(*[inetMTU]byte)
	n := copy(b[:], m.Payload)
	select {
	case pc.queue <- message{buf: b, n: n, from: m.Src}:
		pc.stats.received.Add(1)
	default:
		pc.bufs.Put(b)
		pc.stats.dropped.Add(1)
	}
	pc.traffic.heardFrom(m.Src, now)
	// Start the lookup the reply will need, so that answering a new peer
	// does not wait for it.
	pc.peers.prefetch(pc, m.Src)
}

// probeMisses is how many probe intervals in a row may pass without any
// message arriving, not even the node's own probes, before the node is
// declared failed.
const probeMisses = 5

// probe checks, every probe interval, that the daemon still serves the
// node, in two ways, because a daemon-backed node shows neither failure on
// Receive:
//
//   - It looks up its own key. When the daemon has died or the node was
//     closed, the request cannot be written (EPIPE, net.ErrClosed).
//   - When nothing arrived during an interval, it sends a message to
//     itself. Under sustained load the reference daemon sometimes stops
//     serving a node while keeping its connection open (its ServeNode
//     misses the client's keepalives and cancels its context,
//     pkg/inet256ipc/server.go): writes still succeed but nothing is sent
//     or delivered. A node that hears nothing, not even itself, for
//     probeMisses intervals has failed.
func (pc *PacketConn) probe() {
	defer pc.wg.Done()
	t := time.NewTicker(pc.cfg.probeInterval)
	defer t.Stop()
	heard, misses, quietSince := pc.heard.Load(), 0, time.Now()
	for {
		select {
		case <-pc.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(pc.ctx, 4*pc.cfg.probeInterval)
		_, err := pc.node.LookupPublicKey(ctx, pc.self)
		cancel()
		if isTransportFailure(err) {
			pc.fail(err)
			return
		}
		if now := pc.heard.Load(); now != heard {
			heard, misses, quietSince = now, 0, time.Now()
			continue
		}
		if misses++; misses >= probeMisses {
			// The time measured, not misses × the interval: the lookup
			// above may take up to 4 intervals (seen here: the reference
			// daemon left every lookup of the node's own key unanswered).
			pc.fail(pc.silenceError(time.Since(quietSince), misses-1))
			return
		}
		pc.stats.probes.Add(1)
		if err := pc.node.Send(pc.ctx, pc.self, pc.probeMsg); isTransportFailure(err) {
			pc.fail(err)
			return
		}
	}
}

// silenceError says why a node that heard nothing for quiet failed,
// naming the peer it kept writing to after that peer fell silent, if any:
// the likely cause (see peerTraffic).
func (pc *PacketConn) silenceError(quiet time.Duration, unanswered int) error {
	err := fmt.Errorf("nothing arrived for %v (%d probes unanswered), not even the node's own probes: the daemon no longer serves it",
		quiet.Round(time.Millisecond), unanswered)
	if peer, silence, ok := pc.traffic.silent(time.Unix(0, pc.lastArrival.Load())); ok {
		return &PeerSilentError{Peer: peer, Silence: silence, Err: err}
	}
	return err
}

// fail marks the node as failed: every call from now on returns an error
// matching ErrNodeFailed, and the goroutines stop.
func (pc *PacketConn) fail(cause error) {
	if isClosed(pc.closed) {
		return
	}
	pc.failOnce.Do(func() {
		pc.failErr = &nodeFailure{cause: cause}
		close(pc.failed)
		pc.cancel()
	})
}

// Failed returns a channel that is closed when the node fails (its daemon
// went away, or it was closed underneath the PacketConn). A Socket over
// the PacketConn learns it from ReadFrom's error and closes at once.
func (pc *PacketConn) Failed() <-chan struct{} { return pc.failed }

// Err returns why the node failed, or nil.
func (pc *PacketConn) Err() error {
	if isClosed(pc.failed) {
		return pc.failErr
	}
	return nil
}

// ReadFrom reads the next message into p and returns its length and
// sender. A message longer than p fills p and returns a *TruncatedError
// with n = len(p).
func (pc *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if err := pc.check(pc.rdl); err != nil {
		return 0, nil, pc.opError("read", nil, err)
	}
	select {
	case m := <-pc.queue:
		return pc.unpack(p, m)
	case <-pc.closed:
		return 0, nil, pc.opError("read", nil, net.ErrClosed)
	case <-pc.failed:
		return 0, nil, pc.opError("read", nil, pc.failErr)
	case <-pc.rdl.wait():
		return 0, nil, pc.opError("read", nil, os.ErrDeadlineExceeded)
	}
}

func (pc *PacketConn) unpack(p []byte, m message) (int, net.Addr, error) {
	n := copy(p, m.buf[:m.n])
	pc.bufs.Put(m.buf)
	if n < m.n {
		pc.stats.truncated.Add(1)
		return n, m.from, pc.opError("read", m.from, &TruncatedError{Len: m.n})
	}
	return n, m.from, nil
}

// check returns the error a call must fail with before it starts: closed,
// failed, or past the deadline d.
func (pc *PacketConn) check(d *deadline) error {
	switch {
	case isClosed(pc.closed):
		return net.ErrClosed
	case isClosed(pc.failed):
		return pc.failErr
	case isClosed(d.wait()):
		return os.ErrDeadlineExceeded
	}
	return nil
}

// WriteTo sends p as one message to addr, an inet256.Addr. Nothing is
// sent to a peer before its public key has been found: a daemon-backed
// node that sends to an address its daemon cannot route may stop working
// silently. The first write to a peer starts the lookup (bounded by
// WithLookupTimeout) and waits for it at most 250 ms; a write that finds
// the lookup still running fails with an *UnreachableError wrapping
// ErrLookupPending, and one that finds it failed with an *UnreachableError
// wrapping the lookup's error (further writes to that peer fail at once
// for two seconds). A message longer than the maximum (WithMaxMessage)
// fails with an *MTUError.
func (pc *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	dst, err := toAddr(addr)
	if err != nil {
		return 0, pc.opError("write", addr, err)
	}
	if len(p) > pc.cfg.maxMessage {
		pc.stats.tooLong.Add(1)
		return 0, pc.opError("write", dst, &MTUError{Len: len(p), Max: pc.cfg.maxMessage})
	}
	if err := pc.check(pc.wdl); err != nil {
		return 0, pc.opError("write", dst, err)
	}
	if err := pc.awaitPeer(dst); err != nil {
		return 0, pc.opError("write", dst, err)
	}
	if err := pc.send(dst, p); err != nil {
		pc.stats.sendErrors.Add(1)
		return 0, pc.opError("write", dst, err)
	}
	pc.stats.sent.Add(1)
	pc.traffic.wroteTo(dst, time.Now())
	pc.lastSend.Store(time.Now().UnixNano())
	return len(p), nil
}

// awaitPeer waits until dst's lookup has ended, at most lookupWait, and
// returns its error. The wait is short because the caller may be a
// Socket's only reader, or a dial whose context is shorter than the
// lookup's bound: past it the write fails, and uTP sends the packet again
// after its retransmission timeout, by when the lookup has usually ended.
func (pc *PacketConn) awaitPeer(dst inet256.Addr) error {
	e := pc.peers.lookup(pc, dst)
	if e == nil {
		return net.ErrClosed
	}
	if !isClosed(e.done) {
		t := time.NewTimer(lookupWait)
		defer t.Stop()
		select {
		case <-e.done:
		case <-t.C:
			pc.stats.unreachable.Add(1)
			return &UnreachableError{Addr: dst, Err: ErrLookupPending}
		case <-pc.closed:
			return net.ErrClosed
		case <-pc.failed:
			return pc.failErr
		case <-pc.wdl.wait():
			return os.ErrDeadlineExceeded
		}
	}
	if e.err != nil {
		pc.stats.unreachable.Add(1)
		return &UnreachableError{Addr: dst, Err: e.err}
	}
	return nil
}

// send hands p to the node, under a context that Close cancels and that
// carries the write deadline. No lock is held.
func (pc *PacketConn) send(dst inet256.Addr, p []byte) error {
	ctx := pc.ctx
	if at := pc.wdl.at(); !at.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, at)
		defer cancel()
	}
	err := pc.node.Send(ctx, dst, p)
	switch {
	case err == nil:
		return nil
	case isClosed(pc.closed):
		return net.ErrClosed
	case isClosed(pc.failed):
		return pc.failErr
	case errors.Is(err, context.DeadlineExceeded):
		return os.ErrDeadlineExceeded
	case inet256.IsErrAddrUnreachable(err):
		pc.peers.forget(dst)
		return &UnreachableError{Addr: dst, Err: err}
	case inet256.IsErrMTUExceeded(err):
		return &MTUError{Len: len(p), Max: pc.cfg.maxMessage}
	case isTransportFailure(err):
		pc.fail(err)
		return pc.Err()
	}
	return err
}

// Resolve looks up addr's public key, as the first WriteTo to it would,
// and retries until it is found or ctx ends. Dial uses it so that an
// address not on the network fails with an *UnreachableError carrying
// ctx's error.
func (pc *PacketConn) Resolve(ctx context.Context, addr inet256.Addr) error {
	for {
		e := pc.peers.lookup(pc, addr)
		if e == nil {
			return net.ErrClosed
		}
		select {
		case <-e.done:
			if e.err == nil {
				return nil
			}
			pc.peers.forget(addr) // retry at once, not after the negative TTL
		case <-ctx.Done():
			return &UnreachableError{Addr: addr, Err: ctx.Err()}
		case <-pc.closed:
			return net.ErrClosed
		case <-pc.failed:
			return pc.failErr
		}
		// A lookup that failed fast (not found) is retried after a pause,
		// so that a peer joining meanwhile is found without busy looping.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return &UnreachableError{Addr: addr, Err: ctx.Err()}
		}
	}
}

// Close closes the PacketConn and its node. Pending ReadFrom and WriteTo
// calls return net.ErrClosed. When a message was sent less than 200 ms
// before, it first waits until 200 ms have passed, so that the daemon
// forwards it (a Socket's RESETs, sent as it closes); then it waits for
// the PacketConn's goroutines, at most two seconds (see the package
// documentation).
func (pc *PacketConn) Close() error {
	pc.closeOnce.Do(func() {
		if d := closeFlush - time.Since(time.Unix(0, pc.lastSend.Load())); d > 0 {
			time.Sleep(d)
		}
		close(pc.closed)
		pc.cancel()
		pc.peers.close()
		pc.closeErr = pc.node.Close()
		done := make(chan struct{})
		go func() {
			pc.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeWait):
		}
	})
	return pc.closeErr
}

// LocalAddr returns the node's address, an inet256.Addr.
func (pc *PacketConn) LocalAddr() net.Addr { return pc.node.LocalAddr() }

// SetDeadline sets both deadlines.
func (pc *PacketConn) SetDeadline(t time.Time) error {
	pc.rdl.set(t)
	pc.wdl.set(t)
	return nil
}

// SetReadDeadline sets the deadline for ReadFrom, including a call already
// blocked. The zero time means none.
func (pc *PacketConn) SetReadDeadline(t time.Time) error { pc.rdl.set(t); return nil }

// SetWriteDeadline sets the deadline for WriteTo, including a call already
// waiting for a lookup. The zero time means none.
func (pc *PacketConn) SetWriteDeadline(t time.Time) error { pc.wdl.set(t); return nil }

func (pc *PacketConn) opError(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "inet256", Source: pc.node.LocalAddr(), Addr: addr, Err: err}
}

// toAddr accepts the forms of an INET256 address a caller may hold.
func toAddr(addr net.Addr) (inet256.Addr, error) {
	switch a := addr.(type) {
	case inet256.Addr:
		return a, nil
	case *inet256.Addr:
		if a != nil {
			return *a, nil
		}
	}
	return inet256.Addr{}, fmt.Errorf("inet256adapter: %T is not an INET256 address", addr)
}

var _ net.PacketConn = (*PacketConn)(nil)

// Stats counts what a PacketConn did.
type Stats struct {
	Received       uint64 // messages queued for ReadFrom
	Dropped        uint64 // messages dropped: the receive queue was full
	Truncated      uint64 // messages longer than ReadFrom's buffer
	Sent           uint64 // messages handed to the node
	SendErrors     uint64 // sends the node refused
	TooLong        uint64 // writes refused: longer than the maximum message
	Unreachable    uint64 // writes refused: the peer's key was not found
	Lookups        uint64 // public-key lookups started
	LookupFailures uint64 // ... that failed
	Probes         uint64 // messages sent to itself to check the daemon still serves the node
}

type counters struct {
	received, dropped, truncated, sent, sendErrors atomic.Uint64
	tooLong, unreachable, lookups, lookupFailures  atomic.Uint64
	probes                                         atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (pc *PacketConn) Stats() Stats {
	c := &pc.stats
	return Stats{
		Received: c.received.Load(), Dropped: c.dropped.Load(),
		Truncated: c.truncated.Load(), Sent: c.sent.Load(),
		SendErrors: c.sendErrors.Load(), TooLong: c.tooLong.Load(),
		Unreachable: c.unreachable.Load(), Lookups: c.lookups.Load(),
		LookupFailures: c.lookupFailures.Load(), Probes: c.probes.Load(),
	}
}
