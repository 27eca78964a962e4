package inet256adapter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/inet256/inet256/pkg/inet256"
)

// pcPair returns two PacketConns on one in-process service, closed when
// the test ends.
func pcPair(t *testing.T, opts ...Option) (a, b *PacketConn) {
	t.Helper()
	srv := newService()
	a = NewPacketConn(openNode(t, srv), opts...)
	b = NewPacketConn(openNode(t, srv), opts...)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestPacketConnRoundTrip(t *testing.T) {
	checkLeaks(t)
	a, b := pcPair(t)
	if _, err := a.WriteTo([]byte("hello"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, from, err := b.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "hello" || from != a.LocalAddr() {
		t.Fatalf("read %q from %v, want %q from %v", buf[:n], from, "hello", a.LocalAddr())
	}
	// A pointer to an address is accepted too; other address types are not.
	addr := a.LocalAddr().(inet256.Addr)
	if _, err := b.WriteTo([]byte("back"), &addr); err != nil {
		t.Fatal(err)
	}
	if n, _, err := a.ReadFrom(buf); err != nil || string(buf[:n]) != "back" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if _, err := a.WriteTo([]byte("x"), &net.UDPAddr{}); err == nil {
		t.Fatal("WriteTo a UDP address succeeded")
	}
}

// inet256.NewPacketConn treats the zero deadline as already passed; here
// it means no deadline, as the net package says.
func TestZeroDeadlineMeansNone(t *testing.T) {
	checkLeaks(t)
	a, b := pcPair(t)
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := b.ReadFrom(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrom past its deadline: %v", err)
	}
	b.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		a.WriteTo([]byte("late"), b.LocalAddr())
	}()
	buf := make([]byte, 10)
	n, _, err := b.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("ReadFrom with a zero deadline: %q, %v", buf[:n], err)
	}
}

// A deadline set while ReadFrom is blocked ends it; one extended while it
// is blocked lets it wait longer.
func TestDeadlineChangedDuringRead(t *testing.T) {
	checkLeaks(t)
	_, b := pcPair(t)
	b.SetReadDeadline(time.Now().Add(time.Hour))
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := b.ReadFrom(make([]byte, 10))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	b.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	select {
	case err := <-errc:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("ReadFrom: %v, want a timeout", err)
		}
		if time.Since(start) < 50*time.Millisecond {
			t.Fatalf("ReadFrom returned after %v, before its deadline", time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set during ReadFrom did not end it")
	}
}

// A message longer than the buffer is reported, not silently cut.
func TestTruncationReported(t *testing.T) {
	checkLeaks(t)
	a, b := pcPair(t)
	a.WriteTo([]byte("0123456789abcdef"), b.LocalAddr())
	buf := make([]byte, 10)
	n, from, err := b.ReadFrom(buf)
	var te *TruncatedError
	if n != 10 || from != a.LocalAddr() || !errors.Is(err, io.ErrShortBuffer) || !errors.As(err, &te) || te.Len != 16 {
		t.Fatalf("ReadFrom into 10 bytes of a 16-byte message: n=%d from=%v err=%v", n, from, err)
	}
	if string(buf) != "0123456789" {
		t.Fatalf("buffer %q", buf)
	}
	if got := b.Stats().Truncated; got != 1 {
		t.Fatalf("Stats.Truncated = %d, want 1", got)
	}
}

// Close ends a blocked ReadFrom and the receiving goroutine even when the
// node's Receive ignores Close, as a daemon-backed node's does: only the
// context ends it. checkLeaks proves the goroutine is gone.
func TestCloseUnblocksReadWhenReceiveIgnoresClose(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	mem := openNode(t, srv)
	defer mem.Close()
	h := &hookNode{
		Node: mem,
		receive: func(ctx context.Context, fn inet256.ReceiveFunc) error {
			<-ctx.Done() // deaf to Close
			return ctx.Err()
		},
		close: func() error { return nil },
	}
	pc := NewPacketConn(h, WithProbeInterval(0))
	errc := make(chan error, 1)
	go func() {
		_, _, err := pc.ReadFrom(make([]byte, 10))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	closed := make(chan struct{})
	go func() { pc.Close(); close(closed) }()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrom after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := pc.WriteTo([]byte("x"), mem.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Close: %v", err)
	}
}

// No lock is held across the node's Send: while one send is stuck, other
// writes, reads, deadlines and Stats go on.
func TestSendBlocksNoLock(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	peer1 := NewPacketConn(openNode(t, srv))
	peer2 := NewPacketConn(openNode(t, srv))
	defer peer1.Close()
	defer peer2.Close()
	release := make(chan struct{})
	mem := openNode(t, srv)
	h := &hookNode{Node: mem}
	stuck := peer1.LocalAddr().(inet256.Addr)
	h.send = func(ctx context.Context, dst inet256.Addr, data []byte) error {
		if dst == stuck {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return mem.Send(ctx, dst, data)
	}
	pc := NewPacketConn(h)
	defer pc.Close()
	blocked := make(chan error, 1)
	go func() {
		_, err := pc.WriteTo([]byte("stuck"), stuck)
		blocked <- err
	}()
	waitFor(t, 5*time.Second, "the stuck send to start", func() bool { return h.sends.Load() == 1 })
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := pc.WriteTo([]byte("free"), peer2.LocalAddr()); err != nil {
			t.Error(err)
		}
		pc.SetDeadline(time.Time{})
		_ = pc.Stats()
		peer2.WriteTo([]byte("reply"), pc.LocalAddr())
		buf := make([]byte, 10)
		if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "reply" {
			t.Errorf("ReadFrom: %q, %v", buf[:n], err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a stuck Send blocked other calls")
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
}

// An address that cannot be resolved fails the write with an unreachable
// error, and nothing is sent to it: a daemon-backed node that sends to an
// address it cannot route may stop working.
func TestUnresolvablePeerIsUnreachable(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	h := &hookNode{Node: openNode(t, srv)}
	pc := NewPacketConn(h, WithProbeInterval(0))
	defer pc.Close()
	nowhere := randomAddr(t)
	_, err := pc.WriteTo([]byte("x"), nowhere)
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Addr != nowhere || !errors.Is(err, ErrUnreachable) ||
		!errors.Is(err, syscall.EHOSTUNREACH) || !inet256.IsErrAddrUnreachable(err) {
		t.Fatalf("WriteTo an unknown address: %v", err)
	}
	if h.sends.Load() != 0 {
		t.Fatalf("%d messages sent to an unresolved address", h.sends.Load())
	}
	// The failure is remembered for a while: no second lookup.
	lookups := h.lookups.Load()
	if _, err := pc.WriteTo([]byte("x"), nowhere); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("second WriteTo: %v", err)
	}
	if h.lookups.Load() != lookups {
		t.Fatal("a failed lookup was repeated at once")
	}
	if st := pc.Stats(); st.Unreachable != 2 || st.LookupFailures != 1 {
		t.Fatalf("Stats: %+v", st)
	}
}

// A lookup that never answers is bounded by WithLookupTimeout, and a
// write deadline shortens the wait.
func TestLookupBounded(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	h := &hookNode{Node: openNode(t, srv)}
	h.lookup = func(ctx context.Context, addr inet256.Addr) (inet256.PublicKey, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	pc := NewPacketConn(h, WithProbeInterval(0), WithLookupTimeout(100*time.Millisecond))
	defer pc.Close()
	start := time.Now()
	_, err := pc.WriteTo([]byte("x"), randomAddr(t))
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WriteTo with a silent lookup: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("the lookup took %v, want its 100 ms bound", d)
	}
	// A longer lookup holds a write at most 250 ms: the write fails, and a
	// caller (uTP) tries again later.
	pc2 := NewPacketConn(&hookNode{Node: openNode(t, srv), lookup: h.lookup}, WithProbeInterval(0))
	defer pc2.Close()
	start = time.Now()
	if _, err := pc2.WriteTo([]byte("x"), randomAddr(t)); !errors.Is(err, ErrUnreachable) || !errors.Is(err, ErrLookupPending) {
		t.Fatalf("WriteTo during a long lookup: %v", err)
	}
	if d := time.Since(start); d < lookupWait || d > 5*time.Second {
		t.Fatalf("WriteTo waited %v for a lookup, want %v", d, lookupWait)
	}
	// A write deadline shortens that wait.
	pc2.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	start = time.Now()
	if _, err := pc2.WriteTo([]byte("x"), randomAddr(t)); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) >= lookupWait {
		t.Fatalf("WriteTo past its deadline while looking up: %v after %v", err, time.Since(start))
	}
}

// A peer is looked up once, before the first message, then cached; a
// peer that sent to us is looked up on arrival, before we answer.
func TestLookupCachedAndPrefetched(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	ha := &hookNode{Node: openNode(t, srv)}
	hb := &hookNode{Node: openNode(t, srv)}
	a := NewPacketConn(ha, WithProbeInterval(0))
	b := NewPacketConn(hb, WithProbeInterval(0))
	defer a.Close()
	defer b.Close()
	for i := range 20 {
		if _, err := a.WriteTo([]byte{byte(i)}, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if n := ha.lookups.Load(); n != 1 {
		t.Fatalf("%d lookups for 20 writes to one peer, want 1", n)
	}
	waitFor(t, 5*time.Second, "b to look up its new peer", func() bool { return hb.lookups.Load() == 1 })
	if _, err := b.WriteTo([]byte("reply"), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n := hb.lookups.Load(); n != 1 {
		t.Fatalf("b looked up its peer %d times, want 1", n)
	}
}

// The receive queue is bounded; what does not fit is dropped and counted.
func TestReceiveQueueBounded(t *testing.T) {
	checkLeaks(t)
	a, b := pcPair(t, WithReceiveQueue(4))
	for i := range 10 {
		if _, err := a.WriteTo([]byte{byte(i)}, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "all 10 messages to be received or dropped", func() bool {
		st := b.Stats()
		return st.Received+st.Dropped == 10
	})
	if st := b.Stats(); st.Received != 4 || st.Dropped != 6 {
		t.Fatalf("Stats %+v, want 4 received and 6 dropped", st)
	}
	buf := make([]byte, 10)
	for i := range 4 {
		n, _, err := b.ReadFrom(buf)
		if err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("message %d: %v %v", i, buf[:n], err)
		}
	}
}

// Messages up to MaxMessage pass whole; longer ones fail with an MTU error
// instead of being cut or crashing the client.
func TestMaxMessage(t *testing.T) {
	checkLeaks(t)
	a, b := pcPair(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), MaxMessage/16+1)[:MaxMessage]
	if _, err := a.WriteTo(big, b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, inet256.MTU)
	n, _, err := b.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], big) {
		t.Fatalf("a %d-byte message arrived as %d bytes, %v", len(big), n, err)
	}
	for _, size := range []int{MaxMessage + 1, inet256.MTU + 1} {
		_, err = a.WriteTo(make([]byte, size), b.LocalAddr())
		var me *MTUError
		if !errors.As(err, &me) || me.Len != size || !errors.Is(err, syscall.EMSGSIZE) || !inet256.IsErrMTUExceeded(err) {
			t.Fatalf("WriteTo of %d bytes: %v", size, err)
		}
	}
	// The maximum is configurable, and never above inet256.MTU.
	c := NewPacketConn(openNode(t, newService()), WithMaxMessage(1<<20), WithProbeInterval(0))
	defer c.Close()
	if c.cfg.maxMessage != inet256.MTU {
		t.Fatalf("WithMaxMessage(1 MiB) gave %d", c.cfg.maxMessage)
	}
}

// A send that fails because the node's stream to its daemon broke fails
// the PacketConn: every call then returns ErrNodeFailed.
func TestBrokenSendFailsNode(t *testing.T) {
	checkLeaks(t)
	a, b := pcPair(t)
	h := &hookNode{Node: a.node}
	h.send = func(ctx context.Context, dst inet256.Addr, data []byte) error {
		return &net.OpError{Op: "write", Net: "unix", Err: os.NewSyscallError("write", syscall.EPIPE)}
	}
	pc := NewPacketConn(h, WithProbeInterval(0))
	// pc and a share a node: closing pc must not close it twice.
	h.close = func() error { return nil }
	defer pc.Close()
	_, err := pc.WriteTo([]byte("x"), b.LocalAddr())
	if !errors.Is(err, ErrNodeFailed) || errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo over a broken stream: %v", err)
	}
	select {
	case <-pc.Failed():
	default:
		t.Fatal("Failed not closed")
	}
	if _, _, err := pc.ReadFrom(make([]byte, 10)); !errors.Is(err, ErrNodeFailed) {
		t.Fatalf("ReadFrom after failure: %v", err)
	}
}

// The probe notices a node that can no longer reach its daemon even when
// nothing is being sent.
func TestProbeNoticesDeadDaemon(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	mem := openNode(t, srv)
	dead := make(chan struct{})
	h := &hookNode{Node: mem}
	h.lookup = func(ctx context.Context, addr inet256.Addr) (inet256.PublicKey, error) {
		select {
		case <-dead:
			return nil, os.NewSyscallError("write", syscall.EPIPE)
		default:
			return mem.LookupPublicKey(ctx, addr)
		}
	}
	// Receive, as a daemon client's, keeps blocking after the daemon died.
	h.receive = func(ctx context.Context, fn inet256.ReceiveFunc) error {
		<-ctx.Done()
		return ctx.Err()
	}
	pc := NewPacketConn(h, WithProbeInterval(20*time.Millisecond))
	defer pc.Close()
	errc := make(chan error, 1)
	go func() {
		_, _, err := pc.ReadFrom(make([]byte, 10))
		errc <- err
	}()
	time.Sleep(60 * time.Millisecond)
	select {
	case err := <-errc:
		t.Fatalf("ReadFrom returned before the daemon died: %v", err)
	default:
	}
	close(dead)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrNodeFailed) || !errors.Is(pc.Err(), ErrNodeFailed) {
			t.Fatalf("ReadFrom: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the probe did not notice the dead daemon")
	}
}

// A node the daemon no longer serves (its connection stays open, writes
// succeed, nothing is delivered) fails after five silent probe intervals.
func TestProbeNoticesUnservedNode(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	mem := openNode(t, srv)
	h := &hookNode{Node: mem}
	h.receive = func(ctx context.Context, fn inet256.ReceiveFunc) error {
		<-ctx.Done() // nothing is delivered any more
		return ctx.Err()
	}
	h.send = func(ctx context.Context, dst inet256.Addr, data []byte) error { return nil }
	pc := NewPacketConn(h, WithProbeInterval(10*time.Millisecond))
	defer pc.Close()
	select {
	case <-pc.Failed():
	case <-time.After(5 * time.Second):
		t.Fatal("an unserved node was not noticed")
	}
	if err := pc.Err(); !errors.Is(err, ErrNodeFailed) || !strings.Contains(err.Error(), "no longer serves") {
		t.Fatalf("Err: %v", err)
	}
	if err := pc.Err(); errors.Is(err, ErrPeerSilent) {
		t.Fatalf("Err %v blames a peer, but nothing was written to any", err)
	}
	if n := pc.Stats().Probes; n < probeMisses-1 {
		t.Fatalf("%d probes sent before giving up, want %d", n, probeMisses-1)
	}
}

// An idle node that the daemon serves hears its own probes: it does not
// fail, and the probes never reach ReadFrom.
func TestProbeKeepsIdleNode(t *testing.T) {
	checkLeaks(t)
	_, b := pcPair(t, WithProbeInterval(5*time.Millisecond))
	b.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, from, err := b.ReadFrom(make([]byte, 100))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrom on an idle node: %d bytes from %v, %v", n, from, err)
	}
	if b.Err() != nil || b.Stats().Probes == 0 {
		t.Fatalf("after 300 ms idle: Err %v, %d probes", b.Err(), b.Stats().Probes)
	}
}

// A node taken down after it kept writing to a peer that had fallen
// silent names that peer: the reference daemon drops a node that writes
// to an address it can no longer route, which is what a user whose peer
// went away sees (docs/inet256.md). The error matches ErrNodeFailed and
// ErrPeerSilent, and carries a *PeerSilentError.
func TestNodeFailureNamesSilentPeer(t *testing.T) {
	checkLeaks(t)
	peer, h, served := unservableNode(t)
	pc := NewPacketConn(h, WithProbeInterval(50*time.Millisecond))
	defer pc.Close()
	// The peer is heard from once, then goes away.
	if err := peer.Send(testContext(t, 5*time.Second), h.LocalAddr(), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pc.ReadFrom(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	// Answered once while it is there: the write waits for the peer's
	// lookup, which the receive only started (under the race detector
	// it had not ended when the peer closed, and the lookup then failed).
	if _, err := pc.WriteTo([]byte("hi"), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	peer.Close()
	// Writes to it go on (uTP retransmitting) past silentAfter, then the
	// daemon drops the node.
	start := time.Now()
	for time.Since(start) < silentAfter+200*time.Millisecond {
		if _, err := pc.WriteTo([]byte("anyone?"), peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	served.Store(false)
	select {
	case <-pc.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("an unserved node was not noticed")
	}
	err := pc.Err()
	var pse *PeerSilentError
	if !errors.Is(err, ErrNodeFailed) || !errors.Is(err, ErrPeerSilent) || !errors.As(err, &pse) {
		t.Fatalf("Err: %v, want ErrNodeFailed, ErrPeerSilent and a *PeerSilentError", err)
	}
	if pse.Peer != peer.LocalAddr() || pse.Silence < silentAfter || !strings.Contains(err.Error(), peer.LocalAddr().String()) {
		t.Fatalf("PeerSilentError %+v (%v), want peer %v silent at least %v", pse, err, peer.LocalAddr(), silentAfter)
	}
	if errors.Is(err, net.ErrClosed) {
		t.Errorf("Err %v matches net.ErrClosed", err)
	}
	t.Log(err)
}

// Close lets closeFlush pass after the last message before it closes the
// node, so that the daemon forwards that message (a Socket's RESETs, sent
// as it closes): a daemon loses what a node sent just before it closed.
func TestCloseLetsLastMessageLeave(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	peer := openNode(t, srv)
	h := &hookNode{Node: openNode(t, srv)}
	var sent, closed atomic.Int64
	h.send = func(ctx context.Context, dst inet256.Addr, data []byte) error {
		sent.Store(time.Now().UnixNano())
		return h.Node.Send(ctx, dst, data)
	}
	h.close = func() error {
		closed.Store(time.Now().UnixNano())
		return h.Node.Close()
	}
	pc := NewPacketConn(h, WithProbeInterval(0))
	if _, err := pc.WriteTo([]byte("reset"), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	pc.Close()
	if gap := time.Duration(closed.Load() - sent.Load()); gap < closeFlush {
		t.Fatalf("the node was closed %v after the last send, want at least %v", gap, closeFlush)
	}
}

// A node that stops being served while its peer was answering blames no
// peer: every peer falls silent at once then, which is the node's failure,
// not theirs.
func TestNodeFailureBlamesNoAnsweringPeer(t *testing.T) {
	checkLeaks(t)
	peer, h, served := unservableNode(t)
	// Probes 500 ms apart: the node is declared failed after 2.5 s of
	// silence, longer than silentAfter, as on a real daemon.
	pc := NewPacketConn(h, WithProbeInterval(500*time.Millisecond))
	defer pc.Close()
	// A conversation: each write answered, until the node stops being
	// served; the writes go on (uTP retransmitting) into the silence.
	for range 10 {
		if _, err := pc.WriteTo([]byte("ping"), peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if err := peer.Send(testContext(t, 5*time.Second), h.LocalAddr(), []byte("pong")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pc.ReadFrom(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	served.Store(false)
	peer.Close() // nothing more arrives
	for !isClosed(pc.Failed()) {
		pc.WriteTo([]byte("anyone?"), peer.LocalAddr())
		time.Sleep(100 * time.Millisecond)
	}
	if err := pc.Err(); !errors.Is(err, ErrNodeFailed) || errors.Is(err, ErrPeerSilent) {
		t.Fatalf("Err: %v, want ErrNodeFailed blaming no peer", err)
	}
}

// unservableNode returns a peer and a node on one in-memory service; the
// node's sends are delivered until served is cleared, and from then on
// taken and dropped, as a daemon that no longer serves a node does.
func unservableNode(t *testing.T) (peer inet256.Node, h *hookNode, served *atomic.Bool) {
	srv := newService()
	peer = openNode(t, srv)
	h = &hookNode{Node: openNode(t, srv)}
	served = new(atomic.Bool)
	served.Store(true)
	h.send = func(ctx context.Context, dst inet256.Addr, data []byte) error {
		if !served.Load() {
			return nil
		}
		return h.Node.Send(ctx, dst, data)
	}
	return peer, h, served
}
