package relay

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives its tests: Close must
// take the relay's two goroutines with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type endpoint struct {
	pc *net.UDPConn
}

func newEndpoint(t *testing.T) endpoint {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.SetReadBuffer(4 << 20)
	t.Cleanup(func() { pc.Close() })
	return endpoint{pc}
}

func (e endpoint) addr() netip.AddrPort { return e.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

func newRelay(t *testing.T, a, b endpoint, cfg Config) *Relay {
	t.Helper()
	r, err := New(a.addr(), b.addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// send writes n datagrams numbered from 0 to the relay.
func (e endpoint) send(t *testing.T, r *Relay, n int) {
	t.Helper()
	var b [64]byte
	for i := range n {
		binary.BigEndian.PutUint32(b[:], uint32(i))
		if _, err := e.pc.WriteToUDPAddrPort(b[:], r.AddrPort()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

// recv collects the numbers of the datagrams that arrive until none has
// for quiet.
func (e endpoint) recv(t *testing.T, quiet time.Duration) []uint32 {
	t.Helper()
	var got []uint32
	b := make([]byte, 2048)
	for {
		_ = e.pc.SetReadDeadline(time.Now().Add(quiet))
		n, _, err := e.pc.ReadFromUDPAddrPort(b)
		if err != nil {
			return got
		}
		if n >= 4 {
			got = append(got, binary.BigEndian.Uint32(b))
		}
	}
}

func TestForwardsBothWays(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r := newRelay(t, a, b, Config{})
	a.send(t, r, 10)
	if got := b.recv(t, 200*time.Millisecond); len(got) != 10 {
		t.Fatalf("a to b: got %d datagrams, want 10", len(got))
	}
	b.send(t, r, 7)
	if got := a.recv(t, 200*time.Millisecond); len(got) != 7 {
		t.Fatalf("b to a: got %d datagrams, want 7", len(got))
	}
	ab, ba := r.Stats()
	if ab.Received != 10 || ab.Delivered != 10 || ba.Received != 7 || ba.Delivered != 7 {
		t.Fatalf("counters a to b %+v, b to a %+v", ab, ba)
	}
}

// The relay never delivers before its delay (a lower bound only: a loaded
// machine may be later).
func TestDelayIsALowerBound(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	const delay = 30 * time.Millisecond
	r := newRelay(t, a, b, Config{AToB: Link{Delay: delay}})
	start := time.Now()
	a.send(t, r, 1)
	_ = b.pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := b.pc.ReadFromUDPAddrPort(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("delivered after %v, before the %v delay", el, delay)
	}
}

// With a seed, which datagrams are lost depends only on their index.
func TestLossIsSeeded(t *testing.T) {
	run := func(seed uint64) []uint32 {
		a, b := newEndpoint(t), newEndpoint(t)
		r := newRelay(t, a, b, Config{Seed: seed, AToB: Link{Loss: 0.3}})
		a.send(t, r, 500)
		got := b.recv(t, 200*time.Millisecond)
		ab, _ := r.Stats()
		if ab.Received != 500 || int(ab.Delivered) != len(got) || ab.Lost+ab.Delivered != 500 {
			t.Fatalf("seed %d: counters %+v, %d datagrams arrived", seed, ab, len(got))
		}
		if ab.Lost < 100 || ab.Lost > 200 {
			t.Fatalf("seed %d: %d of 500 lost at 30%% loss", seed, ab.Lost)
		}
		return got
	}
	first, again, other := run(1), run(1), run(2)
	if !slices.Equal(first, again) {
		t.Fatal("the same seed lost different datagrams")
	}
	if slices.Equal(first, other) {
		t.Fatal("different seeds lost the same datagrams")
	}
}

func TestDuplicateAndReorder(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r := newRelay(t, a, b, Config{Seed: 3, AToB: Link{
		Delay: time.Millisecond, Duplicate: 0.2, Reorder: 0.2, ReorderDelay: 20 * time.Millisecond,
	}})
	// Paced, so that datagrams sent after a held-back one are due before it.
	for range 20 {
		a.send(t, r, 10)
		time.Sleep(time.Millisecond)
	}
	got := b.recv(t, 300*time.Millisecond)
	ab, _ := r.Stats()
	if ab.Duplicated == 0 || ab.Reordered == 0 {
		t.Fatalf("nothing duplicated or reordered: %+v", ab)
	}
	if uint64(len(got)) != ab.Delivered || ab.Delivered != ab.Received+ab.Duplicated {
		t.Fatalf("%d arrived; counters %+v", len(got), ab)
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	if inversions == 0 {
		t.Fatal("no datagram arrived out of order")
	}
}

func TestDropFirst(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	isThree := func(p []byte) bool { return binary.BigEndian.Uint32(p) == 3 }
	r := newRelay(t, a, b, Config{AToB: Link{Drop: DropFirst(1, isThree)}})
	a.send(t, r, 5) // 0..4: 3 is dropped
	a.send(t, r, 5) // 0..4 again: this 3 passes
	got := b.recv(t, 200*time.Millisecond)
	want := []uint32{0, 1, 2, 4, 0, 1, 2, 3, 4}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if ab, _ := r.Stats(); ab.Filtered != 1 {
		t.Fatalf("Filtered = %d, want 1", ab.Filtered)
	}
}

// Mangle changes the bytes that are delivered, and only those it says.
func TestMangle(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	bumpTwo := func(p []byte) bool {
		if binary.BigEndian.Uint32(p) != 2 {
			return false
		}
		binary.BigEndian.PutUint32(p, 200)
		return true
	}
	r := newRelay(t, a, b, Config{AToB: Link{Mangle: bumpTwo}})
	a.send(t, r, 4)
	got := b.recv(t, 200*time.Millisecond)
	if want := []uint32{0, 1, 200, 3}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if ab, _ := r.Stats(); ab.Mangled != 1 {
		t.Fatalf("Mangled = %d, want 1", ab.Mangled)
	}
}

func TestUnknownSourceDropped(t *testing.T) {
	a, b, c := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	r := newRelay(t, a, b, Config{})
	c.send(t, r, 3)
	a.send(t, r, 1) // sent after c's: once it arrives, c's were handled
	if got := b.recv(t, 200*time.Millisecond); len(got) != 1 {
		t.Fatalf("b got %d datagrams, want only a's", len(got))
	}
	if n := r.Unknown(); n != 3 {
		t.Fatalf("Unknown = %d, want 3", n)
	}
}

// Close returns with datagrams still queued and stops both goroutines.
func TestCloseWithQueuedDatagrams(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	before := goleak.IgnoreCurrent()
	r, err := New(a.addr(), b.addr(), Config{AToB: Link{Delay: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	a.send(t, r, 10)
	deadline := time.Now().Add(5 * time.Second)
	for r.dirs[0].n.received.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	goleak.VerifyNone(t, before)
	if ab, _ := r.Stats(); ab.Received != 10 || ab.Delivered != 0 {
		t.Fatalf("counters %+v", ab)
	}
}

func TestQueueLimit(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	// The delay keeps all ten queued at once even on a loaded machine.
	r := newRelay(t, a, b, Config{QueueLimit: 4, AToB: Link{Delay: 200 * time.Millisecond}})
	a.send(t, r, 10)
	got := b.recv(t, 600*time.Millisecond)
	ab, _ := r.Stats()
	if len(got) != 4 || ab.Overflow != 6 {
		t.Fatalf("%d arrived, counters %+v; want 4 delivered, 6 overflowed", len(got), ab)
	}
}
