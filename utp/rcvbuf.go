package utp

import (
	"math/bits"
	"sync/atomic"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// The kernel receive buffer follows the windows that need it.
//
// A Socket asks for an 8 MiB buffer (WithUDPBuffer), which Linux grants
// as 16 MiB, and the share (share.go) keeps every window within it: one
// connection of Ethernet-sized packets, each charged 2,304 bytes for its
// 1,452, may advertise about 8.5 MiB. A path of 1 Gbit/s and 200 ms
// needs 25 MB in flight and the delay target's queue on top; Linux's TCP
// autotuning goes to 32 MiB (tcp_rmem) for that. Asking for 64 MiB up
// front would let every connection on a short path advertise that much
// too, and what a short path's window lets in waits in the kernel and
// the caches (docs/performance.md), so the buffer is raised only when a
// connection's own receive buffer has grown past its start and past the
// share, on a long path, with a peer that fills the share (proto's
// GrownRecvSpace: a whole buffer arrived within two round trips and the
// reader kept up; the least round trip is 2 ms or more, below which a
// sender of ours keeps at most 4 MiB in flight; the peer delivered about
// the share per round trip): the path, not the Socket, asks. Each raise
// is sized for that buffer, for each counted connection, at the charge
// of the packets received lately, rounded up to a power of two; the
// share then follows what the kernel granted. A demand beyond
// socketConfig.udpBufferMax (64 MiB asked, 128 MiB granted: two
// connections of 32 MiB windows in Ethernet-sized packets) raises
// nothing: the bound could not meet it, and many connections that each
// grew a buffer are many senders sharing the Socket, not one long path.
// On a loaded machine 64 loopback connections at once grew buffers of
// 8 MiB, their round trips lengthened from the start by the queue in the
// shared kernel buffer, and raised it for the last few of them, which
// cost fan-out CPU (docs/performance.md); their senders, held to 1 MiB,
// never fill the share.
//
// Without CAP_NET_ADMIN, SO_RCVBUF stops at net.core.rmem_max (208 KiB
// unless raised): the first raise that gains nothing ends the raising,
// and windows keep to the share of what was granted.
//
// The buffer is not lowered again: it is a bound, not memory; the kernel
// charges only what waits in it, and each connection's own buffers still
// shrink when it idles (proto's buffers.go).

// bufferGrowth is what a Socket knows to raise its kernel receive buffer.
type bufferGrowth struct {
	raiser packetio.RecvBufferRaiser // nil: the endpoint cannot
	max    int                       // the most to ask for, as Config.Buffer asks
	// open: a raise may still gain something; raising: one is under way
	// (the others skip, and ask again at their next step).
	open, raising atomic.Bool
	rcvbuf        int // granted, as getsockopt reports it; owned by the raiser
}

// growWith lets the share raise the kernel buffer through r up to a
// request of max bytes. It is called once, before the Socket is used.
func (w *windowShare) growWith(r packetio.RecvBufferRaiser, max, rcvbuf int) {
	if !w.on || r == nil || 2*max <= rcvbuf {
		return
	}
	w.grow.raiser, w.grow.max, w.grow.rcvbuf = r, max, rcvbuf
	w.grow.open.Store(true)
}

// wantsRoom reports whether c, whose receive buffer autotuning has grown
// to grown bytes (0 if not), should ask for a larger kernel buffer: it is
// counted, and its share holds its window below that buffer. Called at
// every step, under c.mu: atomic loads only.
func (w *windowShare) wantsRoom(c *Conn, grown int) bool {
	return grown > 0 && w.grow.open.Load() && c.shareCounted.Load() && int64(grown) > w.limit.Load()
}

// makeRoom raises the kernel receive buffer so that every counted
// connection's share holds a window of win bytes, within the request's
// bound. It makes a system call: no lock may be held.
func (w *windowShare) makeRoom(win int) {
	g := &w.grow
	if !g.raising.CompareAndSwap(false, true) {
		return
	}
	defer g.raising.Store(false)
	need := w.bufferFor(win)
	if need <= g.rcvbuf || need > 2*g.max || !g.open.Load() {
		return // enough already, or more than the bound could give
	}
	// Linux grants twice what is asked (newWindowShare); a power of two
	// keeps the raises few.
	ask := min(1<<bits.Len(uint(need/2-1)), g.max)
	granted := g.raiser.RaiseRecvBuffer(ask)
	if granted <= g.rcvbuf {
		g.open.Store(false) // refused: rmem_max without CAP_NET_ADMIN
		return
	}
	g.rcvbuf = granted
	if ask >= g.max {
		g.open.Store(false)
	}
	w.mu.Lock()
	if a := granted - granted/8; a > w.avail {
		w.avail = a
		w.setLimit()
	}
	w.mu.Unlock()
}

// bufferFor is the kernel buffer, as getsockopt reports it, whose share
// lets each counted connection advertise win bytes at the charge of the
// packets received lately: the inverse of setLimit and shareWindow.
func (w *windowShare) bufferFor(win int) int {
	w.mu.Lock()
	ch := w.chargeNow()
	n := max(len(w.counted), 1)
	w.mu.Unlock()
	full := truesize(ch.largest + wire.HeaderSize)
	share := int((int64(win)*int64(ch.charged)+int64(ch.bytes)-1)/int64(ch.bytes)) + shareReserve*full
	avail := int64(share) * int64(n)
	return int((avail*8+6)/7) + 8 // avail is rcvbuf less an eighth, rounded down
}

// Many receivers at once need room the windows do not bound. A buffer
// shared by 64 connections at the default 16 MiB leaves each a window of
// two loopback packets and one in reserve, and a loaded machine whose
// reader stalls past the senders' timeouts has every sender resend
// packets still queued, beyond its window: those copies overflowed it
// (docs/performance.md). So once shareGrowMin or more connections are
// counted, more than the buffer holds at shareGrowPer each, the buffer
// is raised, once, to
// shareGrowth times its size at open, and the windows stay as they were:
// the growth is room for the copies only, charged by the kernel only
// while they wait. (Linux's TCP gives each connection a buffer of its
// own, up to tcp_rmem's 6 MiB.) Many receivers are not the long path
// that bufferGrowth raises for, which this ends.

// shareGrowPer is how much kernel buffer each counted connection should
// have before makeHeadroom raises it.
const shareGrowPer = 1 << 20

// shareGrowMin is the fewest counted connections that make many
// receivers: fewer may be the long path bufferGrowth raises for.
const shareGrowMin = 8

// shareGrowth is how many times its size at open makeHeadroom raises the
// buffer to: 64 MiB by default (16 MiB as the kernel reports 8 MiB
// asked), 64 connections' worth of shareGrowPer, within the raises'
// bound (socketConfig.udpBufferMax; a size set by WithUDPBuffer is not
// raised).
const shareGrowth = 4

// roomGrowth is the raise for many receivers.
type roomGrowth struct {
	size int         // the buffer to raise to, as getsockopt reports it; set at creation
	want atomic.Bool // the count outgrew the buffer (setLimit)
	done bool        // raised, or given up; owned by the lead's holder
}

// makeHeadroom raises the kernel buffer to room.size once the count has
// outgrown it, if nothing raised it that far, and ends the long path's
// raises. Only the holder of the read lead calls it, with no lock held:
// it makes a system call.
func (w *windowShare) makeHeadroom() {
	r, g := &w.room, &w.grow
	if r.done || !r.want.Load() || g.raiser == nil || !g.open.Load() {
		return
	}
	if !g.raising.CompareAndSwap(false, true) {
		return // a long path's raise is under way: at the next count
	}
	defer g.raising.Store(false)
	r.done = true
	g.open.Store(false)
	if size := min(r.size, 2*g.max); size > g.rcvbuf {
		g.raiser.RaiseRecvBuffer(size / 2) // the kernel doubles what it is asked (socket(7))
	}
}
