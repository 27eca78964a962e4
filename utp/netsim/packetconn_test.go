package netsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// arrival is one datagram as a reader saw it.
type arrival struct {
	at   time.Time
	from Addr
	seq  uint32
	n    int
}

// drain reads from c until it is closed and sends everything it read on the
// returned channel once done. Payloads carry a big-endian sequence number.
func drain(c *PacketConn) <-chan []arrival {
	out := make(chan []arrival, 1)
	go func() {
		var got []arrival
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				out <- got
				return
			}
			got = append(got, arrival{at: time.Now(), from: from.(Addr), seq: binary.BigEndian.Uint32(buf), n: n})
		}
	}()
	return out
}

// packet returns an n-byte payload starting with seq.
func packet(seq uint32, n int) []byte {
	b := make([]byte, max(n, 4))
	binary.BigEndian.PutUint32(b, seq)
	return b[:n]
}

// readResult is what a ReadFrom in another goroutine returned, and when.
type readResult struct {
	n   int
	err error
	at  time.Time
}

// readAsync runs one ReadFrom in a goroutine.
func readAsync(c *PacketConn) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		n, _, err := c.ReadFrom(make([]byte, 2048))
		ch <- readResult{n, err, time.Now()}
	}()
	return ch
}

// blocked fails the test unless the read is still pending once every
// goroutine in the bubble has settled.
func blocked(t *testing.T, ch <-chan readResult) {
	t.Helper()
	synctest.Wait()
	select {
	case r := <-ch:
		t.Fatalf("read returned early: %+v", r)
	default:
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func checkOpErr(t *testing.T, err error, op string, want error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Net != "netsim" || !errors.Is(err, want) {
		t.Fatalf("got %v (%T), want *net.OpError{Op: %q, Net: netsim} wrapping %v", err, err, op, want)
	}
}

func TestPacketConnDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.Connect("a", "b", LinkConfig{Delay: 30 * time.Millisecond}, LinkConfig{Delay: 10 * time.Millisecond})
		a, b := n.Listen("a"), n.Listen("b")
		defer a.Close()
		defer b.Close()
		start := time.Now()
		if k, err := a.WriteTo([]byte("hello"), Addr("b")); k != 5 || err != nil {
			t.Fatalf("WriteTo: %d, %v", k, err)
		}
		buf := make([]byte, 100)
		k, from, err := b.ReadFrom(buf)
		if err != nil || string(buf[:k]) != "hello" || from != Addr("a") {
			t.Fatalf("ReadFrom: %q from %v, %v", buf[:k], from, err)
		}
		if d := time.Since(start); d != 30*time.Millisecond {
			t.Fatalf("arrived after %v, want 30ms", d)
		}
		// Echo back over the other direction, with a short buffer: the
		// datagram is truncated as by UDP.
		b.WriteTo([]byte("world"), from)
		k, _, err = a.ReadFrom(buf[:3])
		if err != nil || k != 3 || string(buf[:3]) != "wor" {
			t.Fatalf("truncated read: %d %q %v", k, buf[:k], err)
		}
		if d := time.Since(start); d != 40*time.Millisecond {
			t.Fatalf("echo arrived after %v, want 40ms", d)
		}
		if st := b.Stats(); st.Received != 1 || st.BytesReceived != 5 || st.Sent != 1 || st.SentBytes != 5 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// With no delay and no rate limit a whole burst arrives at one virtual
// instant; it must still arrive in order, and no earlier than it was sent.
func TestPacketConnBurstStaysFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.Connect("a", "b", LinkConfig{}, LinkConfig{})
		a, b := n.Listen("a"), n.Listen("b")
		got := drain(b)
		for i := range 500 {
			a.WriteTo(packet(uint32(i), 100), Addr("b"))
		}
		time.Sleep(time.Millisecond)
		a.Close()
		b.Close()
		arr := <-got
		if len(arr) != 500 {
			t.Fatalf("%d arrivals", len(arr))
		}
		for i, x := range arr {
			if x.seq != uint32(i) {
				t.Fatalf("arrival %d is packet %d", i, x.seq)
			}
		}
	})
}

// lossRun sends 1000 packets over a 10% loss link and returns which arrived.
func lossRun(t *testing.T, seed uint64) []uint32 {
	var seqs []uint32
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(seed)
		n.Connect("a", "b", LinkConfig{Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.1}, LinkConfig{})
		a, b := n.Listen("a"), n.Listen("b")
		got := drain(b)
		for i := range 1000 {
			a.WriteTo(packet(uint32(i), 200), Addr("b"))
			time.Sleep(100 * time.Microsecond)
		}
		time.Sleep(time.Second)
		a.Close()
		b.Close()
		arr := <-got
		ls := n.Link("a", "b").Stats()
		if int64(len(arr)) != ls.Delivered || ls.DroppedLoss+ls.Delivered != 1000 {
			t.Errorf("read %d, link stats %+v", len(arr), ls)
		}
		if st := b.Stats(); st.Received != int64(len(arr)) || st.Dropped != 0 {
			t.Errorf("receiver stats %+v", st)
		}
		for _, x := range arr {
			seqs = append(seqs, x.seq)
		}
	})
	return seqs
}

func TestPacketConnLossReproducible(t *testing.T) {
	a := lossRun(t, 7)
	// 900 expected; sd is 9.5, so ±50 is over 5 sd.
	if len(a) < 850 || len(a) > 950 {
		t.Fatalf("%d of 1000 delivered over a 10%% loss link", len(a))
	}
	if !slices.IsSorted(a) {
		t.Fatal("jitter alone reordered packets")
	}
	if b := lossRun(t, 7); !slices.Equal(a, b) {
		t.Fatal("same seed, different fates")
	}
	if c := lossRun(t, 8); slices.Equal(a, c) {
		t.Fatal("different seeds, same fates")
	}
}

// A Network path and a Sim path with the same seed and configuration use the
// same rng stream, so the same packets survive.
func TestPacketConnMatchesSim(t *testing.T) {
	cfg := LinkConfig{Delay: 10 * time.Millisecond, Loss: 0.2, Duplicate: 0.1}
	s := New(3)
	var simGot []uint32
	sa := s.NewNode("a", nil)
	sb := s.NewNode("b", func(_ time.Time, _ Addr, p []byte) { simGot = append(simGot, binary.BigEndian.Uint32(p)) })
	s.Connect(sa, sb, cfg, LinkConfig{})
	for i := range 300 {
		sa.Send("b", packet(uint32(i), 100))
		s.RunFor(time.Millisecond)
	}
	s.RunFor(time.Second)

	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(3)
		n.Connect("a", "b", cfg, LinkConfig{})
		a, b := n.Listen("a"), n.Listen("b")
		got := drain(b)
		for i := range 300 {
			a.WriteTo(packet(uint32(i), 100), Addr("b"))
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		a.Close()
		b.Close()
		var seqs []uint32
		for _, x := range <-got {
			seqs = append(seqs, x.seq)
		}
		if !slices.Equal(seqs, simGot) {
			t.Fatalf("Network delivered %d packets, Sim %d, or in another order", len(seqs), len(simGot))
		}
		if st := n.Link("a", "b").Stats(); st.Duplicated == 0 || st.DroppedLoss == 0 {
			t.Fatalf("impairments not exercised: %+v", st)
		}
	})
}

func TestPacketConnDuplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.Connect("a", "b", LinkConfig{Delay: 5 * time.Millisecond, Duplicate: 0.2}, LinkConfig{})
		a, b := n.Listen("a"), n.Listen("b")
		for i := range 500 {
			a.WriteTo(packet(uint32(i), 50), Addr("b"))
		}
		time.Sleep(100 * time.Millisecond)
		ls := n.Link("a", "b").Stats()
		st := b.Stats()
		if ls.Duplicated < 50 || ls.Duplicated > 150 || st.Received != 500+ls.Duplicated {
			t.Fatalf("received %d, link %+v", st.Received, ls)
		}
		a.Close()
		b.Close()
	})
}

// A 1 Mbit/s bottleneck delivers 1250-byte packets one per 10 ms.
func TestPacketConnRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.Connect("a", "b", LinkConfig{Delay: 20 * time.Millisecond, Rate: 1_000_000, QueueBytes: -1}, LinkConfig{})
		a, b := n.Listen("a"), n.Listen("b")
		got := drain(b)
		start := time.Now()
		for i := range 100 {
			a.WriteTo(packet(uint32(i), 1250), Addr("b"))
		}
		time.Sleep(2 * time.Second)
		a.Close()
		b.Close()
		arr := <-got
		if len(arr) != 100 {
			t.Fatalf("%d arrivals", len(arr))
		}
		for i, x := range arr {
			want := 20*time.Millisecond + time.Duration(i+1)*10*time.Millisecond
			if x.seq != uint32(i) || x.at.Sub(start) != want {
				t.Fatalf("arrival %d: packet %d at %v, want packet %d at %v", i, x.seq, x.at.Sub(start), i, want)
			}
		}
	})
}

func TestPacketConnQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{})
		a, b := n.Listen("a"), n.Listen("b", WithQueueLen(10))
		for i := range 25 {
			a.WriteTo(packet(uint32(i), 10), Addr("b"))
		}
		time.Sleep(time.Millisecond)
		if st := b.Stats(); st.Received != 10 || st.Dropped != 15 {
			t.Fatalf("stats %+v", st)
		}
		buf := make([]byte, 10)
		for i := range 10 { // the first ten were kept, in order
			if _, _, err := b.ReadFrom(buf); err != nil || binary.BigEndian.Uint32(buf) != uint32(i) {
				t.Fatalf("read %d: %v %x", i, err, buf)
			}
		}
		a.Close()
		b.Close()
	})
}

func TestPacketConnReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{Delay: time.Millisecond})
		a, b := n.Listen("a"), n.Listen("b")
		defer a.Close()
		defer b.Close()
		buf := make([]byte, 10)

		// In the past: immediate timeout, even with a datagram queued.
		a.WriteTo([]byte("x"), Addr("b"))
		time.Sleep(time.Millisecond)
		b.SetReadDeadline(time.Now().Add(-time.Second))
		start := time.Now()
		_, _, err := b.ReadFrom(buf)
		if !isTimeout(err) || time.Since(start) != 0 {
			t.Fatalf("past deadline: %v after %v", err, time.Since(start))
		}
		checkOpErr(t, err, "read", os.ErrDeadlineExceeded)
		b.SetReadDeadline(time.Time{})
		if k, _, err := b.ReadFrom(buf); err != nil || k != 1 {
			t.Fatalf("queued datagram lost: %d %v", k, err)
		}

		// Plain expiry while blocked.
		start = time.Now()
		b.SetReadDeadline(start.Add(10 * time.Millisecond))
		if _, _, err := b.ReadFrom(buf); !isTimeout(err) || time.Since(start) != 10*time.Millisecond {
			t.Fatalf("deadline: %v after %v", err, time.Since(start))
		}

		// Extended while blocked: waits for the new deadline.
		start = time.Now()
		b.SetReadDeadline(start.Add(10 * time.Millisecond))
		r := readAsync(b)
		time.Sleep(5 * time.Millisecond)
		b.SetReadDeadline(start.Add(50 * time.Millisecond))
		time.Sleep(10 * time.Millisecond)
		blocked(t, r)
		if res := <-r; !isTimeout(res.err) || res.at.Sub(start) != 50*time.Millisecond {
			t.Fatalf("extended deadline: %v after %v", res.err, res.at.Sub(start))
		}

		// Shortened into the past while blocked: wakes at once.
		start = time.Now()
		b.SetReadDeadline(start.Add(time.Hour))
		r = readAsync(b)
		time.Sleep(5 * time.Millisecond)
		b.SetReadDeadline(start)
		if res := <-r; !isTimeout(res.err) || res.at.Sub(start) != 5*time.Millisecond {
			t.Fatalf("shortened deadline: %v after %v", res.err, res.at.Sub(start))
		}

		// Cleared while blocked: waits for a datagram, however long.
		start = time.Now()
		b.SetReadDeadline(start.Add(10 * time.Millisecond))
		r = readAsync(b)
		time.Sleep(5 * time.Millisecond)
		b.SetReadDeadline(time.Time{})
		time.Sleep(time.Minute)
		blocked(t, r)
		a.WriteTo([]byte("late"), Addr("b"))
		if res := <-r; res.err != nil || res.n != 4 || res.at.Sub(start) != 5*time.Millisecond+time.Minute+time.Millisecond {
			t.Fatalf("cleared deadline: %+v after %v", res, res.at.Sub(start))
		}
	})
}

func TestPacketConnWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{})
		a := n.Listen("a")
		defer a.Close()
		a.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := a.WriteTo([]byte("x"), Addr("b")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		_, err := a.WriteTo([]byte("x"), Addr("b"))
		checkOpErr(t, err, "write", os.ErrDeadlineExceeded)
		if !isTimeout(err) {
			t.Fatalf("not a timeout: %v", err)
		}
		a.SetDeadline(time.Time{})
		if _, err := a.WriteTo([]byte("x"), Addr("b")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPacketConnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{Delay: 10 * time.Millisecond})
		a, b := n.Listen("a"), n.Listen("b")
		r1, r2 := readAsync(b), readAsync(b) // two blocked readers
		b.SetReadDeadline(time.Now().Add(time.Hour))
		a.WriteTo([]byte("in flight"), Addr("b"))
		time.Sleep(5 * time.Millisecond)
		blocked(t, r1)
		start := time.Now()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		for _, r := range []<-chan readResult{r1, r2} {
			res := <-r
			checkOpErr(t, res.err, "read", net.ErrClosed)
			if res.at != start {
				t.Fatalf("woken %v after Close", res.at.Sub(start))
			}
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		_, _, err := b.ReadFrom(nil)
		checkOpErr(t, err, "read", net.ErrClosed)
		_, err = b.WriteTo(nil, Addr("a"))
		checkOpErr(t, err, "write", net.ErrClosed)
		checkOpErr(t, b.SetReadDeadline(time.Time{}), "set", net.ErrClosed)

		// The datagram in flight is dropped and counted at the sender.
		time.Sleep(10 * time.Millisecond)
		if st := a.Stats(); st.Undelivered != 1 {
			t.Fatalf("sender stats %+v", st)
		}
		if st := b.Stats(); st.Received != 0 {
			t.Fatalf("closed receiver stats %+v", st)
		}
		// The address can be used again.
		b2 := n.Listen("b")
		a.WriteTo([]byte("again"), Addr("b"))
		if k, _, err := b2.ReadFrom(make([]byte, 10)); err != nil || k != 5 {
			t.Fatalf("re-listened: %d %v", k, err)
		}
		a.Close()
		b2.Close()
	})
}

func TestPacketConnIgnoreCloseOnRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{Delay: 10 * time.Millisecond})
		a := n.Listen("a")
		defer a.Close()

		// Woken by a datagram.
		b := n.Listen("b", WithIgnoreCloseOnRead())
		r := readAsync(b)
		time.Sleep(time.Millisecond)
		b.Close()
		time.Sleep(time.Second)
		blocked(t, r)
		start := time.Now()
		a.WriteTo([]byte("wake"), Addr("b"))
		res := <-r
		checkOpErr(t, res.err, "read", net.ErrClosed)
		if res.at.Sub(start) != 10*time.Millisecond {
			t.Fatalf("woken %v after the send", res.at.Sub(start))
		}
		// A read after Close fails at once.
		_, _, err := b.ReadFrom(nil)
		checkOpErr(t, err, "read", net.ErrClosed)

		// Woken by a deadline set before Close, as Socket.Close does.
		c := n.Listen("c", WithIgnoreCloseOnRead())
		r = readAsync(c)
		time.Sleep(time.Millisecond)
		start = time.Now()
		c.SetReadDeadline(start.Add(20 * time.Millisecond))
		c.Close()
		blocked(t, r)
		res = <-r
		checkOpErr(t, res.err, "read", net.ErrClosed)
		if res.at.Sub(start) != 20*time.Millisecond {
			t.Fatalf("woken %v after Close", res.at.Sub(start))
		}
		// The address is free again once closed.
		n.Listen("c").Close()
	})
}

func TestPacketConnDefaultLinkAndRoutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		srv := n.Listen("srv")
		lone := n.Listen("lone")
		// No route yet: dropped and counted, but WriteTo succeeds.
		if k, err := lone.WriteTo([]byte("x"), Addr("srv")); k != 1 || err != nil {
			t.Fatalf("no route: %d %v", k, err)
		}
		if st := lone.Stats(); st.NoRoute != 1 || st.Sent != 1 {
			t.Fatalf("stats %+v", st)
		}
		if _, err := lone.WriteTo([]byte("x"), &net.UDPAddr{}); err == nil {
			t.Fatal("WriteTo a UDP address succeeded")
		}

		n.SetDefaultLink(LinkConfig{Delay: 5 * time.Millisecond})
		const clients = 20
		var cs []*PacketConn
		for i := range clients {
			c := n.Listen(Addr(fmt.Sprintf("client%d", i)))
			cs = append(cs, c)
			c.WriteTo(packet(uint32(i), 8), Addr("srv"))
		}
		// Echo each request back to its sender.
		buf := make([]byte, 100)
		seen := map[Addr]bool{}
		for range clients {
			k, from, err := srv.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			seen[from.(Addr)] = true
			srv.WriteTo(buf[:k], from)
		}
		if len(seen) != clients {
			t.Fatalf("heard from %d clients", len(seen))
		}
		for i, c := range cs {
			if k, from, err := c.ReadFrom(buf); err != nil || k != 8 || from != Addr("srv") || binary.BigEndian.Uint32(buf) != uint32(i) {
				t.Fatalf("client %d: %d from %v, %v", i, k, from, err)
			}
			if n.Link(c.LocalAddr().(Addr), "srv") == n.Link("srv", c.LocalAddr().(Addr)) {
				t.Fatal("directions share a link")
			}
			c.Close()
		}
		if st, ok := n.LinkStats("client3", "srv"); !ok || st.Delivered != 1 {
			t.Fatalf("per-pair link stats %+v %v", st, ok)
		}
		// An explicit Connect overrides the default for that pair.
		n.Connect("lone", "srv", LinkConfig{Delay: 50 * time.Millisecond}, LinkConfig{})
		start := time.Now()
		lone.WriteTo([]byte("slow"), Addr("srv"))
		srv.ReadFrom(buf)
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Fatalf("explicit link took %v", d)
		}
		// A destination nobody listens on: carried, then dropped.
		lone.WriteTo([]byte("void"), Addr("nobody"))
		time.Sleep(10 * time.Millisecond)
		if st := lone.Stats(); st.Undelivered != 1 || st.NoRoute != 1 {
			t.Fatalf("stats %+v", st)
		}
		lone.Close()
		srv.Close()
	})
}

func TestPacketConnPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.Connect("a", "b", LinkConfig{Delay: 10 * time.Millisecond}, LinkConfig{Delay: 10 * time.Millisecond})
		a, b := n.Listen("a"), n.Listen("b")
		got := drain(b)

		a.WriteTo(packet(0, 10), Addr("b")) // delivered
		time.Sleep(20 * time.Millisecond)
		a.WriteTo(packet(1, 10), Addr("b")) // in flight when cut: dropped
		time.Sleep(5 * time.Millisecond)
		n.Partition("b", "a", true)
		a.WriteTo(packet(2, 10), Addr("b")) // sent while cut: dropped
		b.WriteTo(packet(3, 10), Addr("a")) // the other direction too
		time.Sleep(time.Second)
		n.Partition("a", "b", false)
		a.WriteTo(packet(4, 10), Addr("b")) // delivered
		time.Sleep(20 * time.Millisecond)
		a.Close()
		b.Close()
		var seqs []uint32
		for _, x := range <-got {
			seqs = append(seqs, x.seq)
		}
		if !slices.Equal(seqs, []uint32{0, 4}) {
			t.Fatalf("delivered %v, want [0 4]", seqs)
		}
		if st := a.Stats(); st.NoRoute != 1 || st.Undelivered != 1 || st.Sent != 4 {
			t.Fatalf("a stats %+v", st)
		}
		if st := b.Stats(); st.NoRoute != 1 {
			t.Fatalf("b stats %+v", st)
		}
		// Packets dropped by the cut never touched the link.
		if ls := n.Link("a", "b").Stats(); ls.Sent != 3 {
			t.Fatalf("link stats %+v", ls)
		}
	})
}

// Several goroutines write at once, two per PacketConn, while others read
// stats (run with -race); every datagram arrives.
func TestPacketConnConcurrentWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const senders, each = 8, 200
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{Delay: time.Millisecond, Jitter: time.Millisecond, Rate: 100_000_000})
		srv := n.Listen("srv", WithQueueLen(senders*each))
		got := drain(srv)
		var wg sync.WaitGroup
		var conns []*PacketConn
		for s := range senders {
			c := n.Listen(Addr(fmt.Sprintf("s%d", s)))
			conns = append(conns, c)
			for range 2 { // two goroutines per conn, interleaving
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each / 2 {
						c.WriteTo(packet(uint32(i), 100), Addr("srv"))
						if i%10 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				}()
			}
		}
		// Read stats concurrently too.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				srv.Stats()
				n.LinkStats("s0", "srv")
				time.Sleep(time.Millisecond)
			}
		}()
		wg.Wait()
		time.Sleep(time.Second)
		for _, c := range conns {
			c.Close()
		}
		srv.Close()
		count := map[Addr]int{}
		for _, x := range <-got {
			count[x.from]++
		}
		for _, c := range conns {
			if k := count[c.LocalAddr().(Addr)]; k != each {
				t.Fatalf("%v: %d of %d arrived", c.LocalAddr(), k, each)
			}
		}
	})
}

// Closing everything with datagrams in flight, blocked readers and armed
// deadlines leaves no goroutine behind: synctest.Test fails if one is still
// blocked when the bubble ends, and pending timers start none after it.
func TestPacketConnNoLeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{Delay: time.Hour, Rate: 10_000})
		a, b := n.Listen("a"), n.Listen("b")
		for i := range 100 {
			a.WriteTo(packet(uint32(i), 1000), Addr("b"))
		}
		b.SetReadDeadline(time.Now().Add(time.Hour))
		r := readAsync(b)
		time.Sleep(time.Millisecond)
		a.Close()
		b.Close()
		<-r
	})
}

func TestListenDuplicatePanics(t *testing.T) {
	n := NewNetwork(1)
	c := n.Listen("a")
	defer c.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	n.Listen("a")
}

// The PacketConn also works on the real clock, outside a bubble.
func TestPacketConnRealClock(t *testing.T) {
	n := NewNetwork(1)
	n.Connect("a", "b", LinkConfig{Delay: 2 * time.Millisecond}, LinkConfig{})
	a, b := n.Listen("a"), n.Listen("b")
	defer a.Close()
	defer b.Close()
	start := time.Now()
	a.WriteTo([]byte("hi"), Addr("b"))
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if k, _, err := b.ReadFrom(make([]byte, 10)); err != nil || k != 2 {
		t.Fatalf("%d %v", k, err)
	}
	if d := time.Since(start); d < 2*time.Millisecond {
		t.Fatalf("arrived after %v", d)
	}
}
