package utp

import (
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// kernelBuffer stands in for Linux UDP's receive buffer on a simulated
// endpoint: it reports what Linux grants a default Socket with
// CAP_NET_ADMIN (twice the 8 MiB asked) and grants every raise, doubled,
// as SO_RCVBUFFORCE does. It does not drop: the share keeps the windows
// within what it reports, and the simulator's queue is made long.
type kernelBuffer struct {
	packetio.Conn
	mu      sync.Mutex
	granted int
	asks    []int
}

func (k *kernelBuffer) Caps() packetio.Caps {
	c := k.Conn.Caps()
	c.RecvBuffer = k.granted
	return c
}

func (k *kernelBuffer) RaiseRecvBuffer(n int) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asks = append(k.asks, n)
	k.granted = max(k.granted, 2*n)
	return k.granted
}

func (k *kernelBuffer) raises() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]int(nil), k.asks...)
}

// withKernelBuffer wraps the Socket's endpoint in k.
func withKernelBuffer(k *kernelBuffer) SocketOption {
	return func(c *socketConfig) {
		c.endpoint = func(pc packetio.Conn) packetio.Conn {
			k.Conn, k.granted = pc, 2*c.udpBuffer
			return k
		}
	}
}

// longFatRun is one bulk flow from a to b over 1 Gbit/s with a 200 ms
// round trip and a one-BDP queue, Ethernet-sized packets (the Socket's
// default over a PacketConn that is not UDP), for d of virtual time or
// until enough says so; it returns the sender's largest peer window and
// flight, and the raises the receiver's kernel buffer was asked for.
type longFatPeaks struct {
	peerWindow, inFlight int
	raises               []int
}

func longFatRun(t *testing.T, d time.Duration, enough func(longFatPeaks) bool, opts ...SocketOption) (p longFatPeaks) {
	n := netsim.NewNetwork(1789)
	n.SetDefaultLink(netsim.LinkConfig{Delay: 100 * time.Millisecond, Rate: 1e9, QueueBytes: 25e6})
	ka, kb := &kernelBuffer{}, &kernelBuffer{}
	a := NewSocket(n.Listen("a", netsim.WithQueueLen(1<<16)), append(opts, withKernelBuffer(ka))...)
	b := NewSocket(n.Listen("b", netsim.WithQueueLen(1<<16)), append(opts, withKernelBuffer(kb))...)
	defer a.Close()
	defer b.Close()
	ca, cb := dialAccept(t, a, b)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 256<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ca.Write(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(io.Discard, cb)
	}()
	for end := time.Now().Add(d); time.Now().Before(end) && !enough(p); {
		time.Sleep(100 * time.Millisecond)
		st := ca.Stats()
		p.peerWindow = max(p.peerWindow, st.PeerWindow)
		p.inFlight = max(p.inFlight, st.InFlight)
	}
	close(stop)
	ca.SetWriteDeadline(time.Now())
	ca.Close()
	wg.Wait()
	p.raises = kb.raises()
	return p
}

// Issue 17, windows that follow the path: behind a default Socket, whose
// kernel receive buffer the share divides (16 MiB granted: about 8.5 MiB
// of window in Ethernet-sized packets), a connection on a 1 Gbit/s path
// with a 200 ms round trip gets the kernel buffer raised as its receive
// buffer grows, and advertises and carries more than 8 MiB (32 MiB,
// WithRecvBuffer's default, on the full run); with the kernel buffer
// fixed (WithUDPBuffer) it stays within the share. Under -short (the
// race detector's pass) the flow stops past 8 MiB, without the fixed
// case.
func TestLongFatPathRaisesKernelBuffer(t *testing.T) {
	checkLeaks(t)
	const eight = 8 << 20
	past := func(limit int) func(longFatPeaks) bool {
		return func(p longFatPeaks) bool { return p.peerWindow > limit && p.inFlight > limit }
	}
	synctest.Test(t, func(t *testing.T) {
		enough := past(32<<20 - 64<<10)
		if testing.Short() {
			enough = past(eight)
		}
		p := longFatRun(t, 8*time.Second, enough)
		t.Logf("default Socket: peer window at most %d B, flight %d B, kernel buffer raises asked %v", p.peerWindow, p.inFlight, p.raises)
		if p.peerWindow <= eight || p.inFlight <= eight {
			t.Errorf("seed 1789: peer window %d B, flight %d B at most; want both above 8 MiB", p.peerWindow, p.inFlight)
		}
		if len(p.raises) == 0 || p.raises[len(p.raises)-1] > 64<<20 {
			t.Errorf("seed 1789: raises asked %v, want some, none above 64 MiB", p.raises)
		}
	})
	if testing.Short() {
		return
	}
	synctest.Test(t, func(t *testing.T) {
		p := longFatRun(t, 6*time.Second, past(1<<30), WithUDPBuffer(8<<20))
		t.Logf("WithUDPBuffer(8 MiB): peer window at most %d B, flight %d B, raises %v", p.peerWindow, p.inFlight, p.raises)
		if p.peerWindow > 9<<20 || len(p.raises) > 0 {
			t.Errorf("seed 1789: with the kernel buffer fixed, peer window %d B, raises %v; want at most the share of 16 MiB, none", p.peerWindow, p.raises)
		}
	})
}

// bufferFor is the inverse of the share: a kernel buffer of that size
// gives each of n counted connections a window of at least win, at the
// charge of the packets seen, and not much more (a packet's charge
// more would already not fit).
func TestBufferForFitsWindow(t *testing.T) {
	for _, payload := range []int{1400, 1452, 8952, 64980} {
		for _, n := range []int{1, 2, 5} {
			for _, win := range []int{8 << 20, 16 << 20, 32 << 20} {
				w := newWindowShare(16 << 20)
				w.charge = uniform(payload)
				for range n {
					w.counted = append(w.counted, &Conn{})
				}
				rcvbuf := w.bufferFor(win)
				avail := rcvbuf - rcvbuf/8
				if got := shareWindow(avail/n, w.charge); got < win || got > win+2*payload {
					t.Errorf("payload %d, %d connections, window %d: buffer %d gives a window of %d", payload, n, win, rcvbuf, got)
				}
			}
		}
	}
}

// refusingRaiser grants nothing beyond what the socket has: SO_RCVBUF
// without CAP_NET_ADMIN, at net.core.rmem_max.
type refusingRaiser struct{ granted, asks int }

func (r *refusingRaiser) RaiseRecvBuffer(int) int { r.asks++; return r.granted }

// A raise that gains nothing (no CAP_NET_ADMIN, rmem_max reached) ends
// the raising: no connection asks again, and the windows keep to the
// share of what was granted.
func TestRefusedRaiseStops(t *testing.T) {
	const granted = 416 << 10 // twice Debian's rmem_max
	w := newWindowShare(granted)
	r := &refusingRaiser{granted: granted}
	w.growWith(r, 64<<20, granted)
	c := &Conn{}
	shareRun(w, []*Conn{c}, time.Unix(0, 0), 64, 1452, time.Millisecond)
	limit := w.limit.Load()
	if !w.wantsRoom(c, 16<<20) {
		t.Fatal("a counted connection grown past its share does not ask")
	}
	w.makeRoom(16 << 20)
	if r.asks != 1 || w.wantsRoom(c, 16<<20) || w.limit.Load() != limit {
		t.Fatalf("after a refused raise: %d asks, still wanting %v, limit %d (was %d)", r.asks, w.wantsRoom(c, 16<<20), w.limit.Load(), limit)
	}
	w.makeRoom(32 << 20)
	if r.asks != 1 {
		t.Fatalf("asked %d times after a refusal", r.asks)
	}
}
