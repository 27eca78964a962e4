package inet256adapter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inet256/inet256/pkg/inet256"

	"github.com/inet256/go-utp/v2/utp"
)

// socketPair returns a Socket on each of two nodes of one in-process
// service, closed when the test ends.
func socketPair(t *testing.T, opts ...Option) (a, b *utp.Socket) {
	t.Helper()
	srv := newService()
	a = NewSocket(openNode(t, srv), opts...)
	b = NewSocket(openNode(t, srv), opts...)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pattern is n pseudo-random bytes from seed.
func pattern(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// exchange writes out on c, half-closes, and reads until EOF, returning
// the SHA-256 of what it read.
func exchange(c *utp.Conn, out []byte) ([32]byte, error) {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(out)
		if err == nil {
			err = c.CloseWrite()
		}
		errc <- err
	}()
	h := sha256.New()
	_, rerr := io.Copy(h, c)
	werr := <-errc
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, errors.Join(rerr, werr)
}

// Two nodes move 8 MiB each way at once over one connection, byte-exact.
func TestStreamBothWays(t *testing.T) {
	checkLeaks(t)
	a, b := socketPair(t)
	const size = 8 << 20
	outA, outB := pattern(1, size), pattern(2, size)
	ctx := testContext(t, 60*time.Second)
	type result struct {
		sum [32]byte
		err error
	}
	srvc := make(chan result, 1)
	go func() {
		c, err := b.AcceptUTP()
		if err != nil {
			srvc <- result{err: err}
			return
		}
		defer c.Close()
		if c.RemoteAddr() != a.Addr() {
			err = fmt.Errorf("RemoteAddr %v, want %v", c.RemoteAddr(), a.Addr())
		}
		sum, xerr := exchange(c, outB)
		srvc <- result{sum, errors.Join(err, xerr)}
	}()
	c, err := a.DialUTP(ctx, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sumA, err := exchange(c, outA)
	if err != nil {
		t.Fatal(err)
	}
	r := <-srvc
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sumA != sha256.Sum256(outB) || r.sum != sha256.Sum256(outA) {
		t.Fatal("the data arrived altered")
	}
}

// Sixteen connections between the same two nodes at once, each checked.
func TestConcurrentStreams(t *testing.T) {
	checkLeaks(t)
	a, b := socketPair(t)
	const streams, size = 16, 256 << 10
	ctx := testContext(t, 60*time.Second)
	go func() {
		for {
			c, err := b.AcceptUTP()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c) // echo until the dialer half-closes
				c.CloseWrite()
			}()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := a.DialUTP(ctx, b.Addr())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			out := pattern(uint64(100+i), size)
			sum, err := exchange(c, out)
			if err == nil && sum != sha256.Sum256(out) {
				err = fmt.Errorf("stream %d: echo altered", i)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Closing the node underneath a Socket closes the Socket: Accept, Read
// and Write return an error matching net.ErrClosed and ErrNodeFailed at
// once instead of after uTP's timeouts, and the Socket's Done and Err say
// so too.
func TestNodeClosedClosesSocket(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	nodeA, nodeB := openNode(t, srv), openNode(t, srv)
	a, b := NewSocket(nodeA), NewSocket(nodeB)
	defer a.Close()
	defer b.Close()
	accepted := make(chan *utp.Conn, 1)
	go func() {
		c, _ := b.AcceptUTP()
		accepted <- c
	}()
	ctx := testContext(t, 10*time.Second)
	c, err := a.DialUTP(ctx, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("Accept failed")
	}
	defer sc.Close()
	acceptErr := make(chan error, 1)
	readErr := make(chan error, 1)
	go func() { _, err := b.Accept(); acceptErr <- err }()
	go func() { _, err := sc.Read(make([]byte, 10)); readErr <- err }()
	time.Sleep(20 * time.Millisecond)

	nodeB.Close() // underneath the Socket
	for what, ch := range map[string]chan error{"Accept": acceptErr, "Read": readErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrNodeFailed) {
				t.Errorf("%s after the node closed: %v", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s still blocked after the node closed", what)
		}
	}
	if _, err := sc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrNodeFailed) {
		t.Errorf("Write after the node closed: %v", err)
	}
	select {
	case <-b.Done():
	default:
		t.Error("the Socket's Done is open after its node failed")
	}
	if err := b.Err(); !errors.Is(err, ErrNodeFailed) {
		t.Errorf("Socket.Err after the node failed: %v", err)
	}
	// The Socket's Close resets its connections on the sender goroutine
	// (the adapter's sends may block), so the connection leaves soon
	// after the Socket's Done closes, not necessarily before.
	select {
	case <-sc.Done():
	case <-time.After(5 * time.Second):
		t.Error("the connection's Done is open 5 s after its Socket closed")
	}
	c.Close()
}

func TestParseAddr(t *testing.T) {
	want := randomAddr(t)
	for _, s := range []string{want.String(), "  " + want.String() + "\n"} {
		got, err := ParseAddr(s)
		if err != nil || got != want {
			t.Fatalf("ParseAddr(%q) = %v, %v", s, got, err)
		}
	}
	s := want.String()
	for _, bad := range []string{"", s[:42], s + "A", s + s, strings.Replace(s, s[:1], "+", 1), "127.0.0.1:80"} {
		if _, err := ParseAddr(bad); err == nil || !strings.Contains(err.Error(), "not an INET256 address") {
			t.Errorf("ParseAddr(%q): %v", bad, err)
		}
	}
}

// Dial looks the peer up first: an address not on the network fails, when
// the context ends, with an error that says so, and the node is closed.
func TestDialUnreachable(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	node, key := openNodeKey(t, srv)
	nowhere := randomAddr(t)
	start := time.Now() // before the context, whose deadline is measured from its making
	ctx := testContext(t, 300*time.Millisecond)
	c, err := Dial(ctx, node, nowhere.String())
	if c != nil || !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), nowhere.String()) {
		t.Fatalf("Dial to an unknown address: %v, %v", c, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("Dial gave up after %v, before its context ended", d)
	}
	if isOpen(srv, key) {
		t.Fatal("a failed Dial left its node open")
	}
	t.Log(err)
	if _, err := Dial(ctx, openNode(t, srv), "not-an-address"); err == nil || !strings.Contains(err.Error(), "not an INET256 address") {
		t.Fatalf("Dial to a malformed address: %v", err)
	}
}

// A peer that joins while Dial is looking it up is found.
func TestDialFindsLatePeer(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	_, priv, err := inet256.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	late := inet256.NewAddr(priv.Public())
	listening := make(chan net.Listener, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		n, err := srv.Open(context.Background(), priv)
		if err != nil {
			t.Error(err)
			close(listening)
			return
		}
		l := Listen(n)
		listening <- l
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := Dial(testContext(t, 10*time.Second), openNode(t, srv), late.String())
	if l := <-listening; l != nil {
		defer l.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	// The listener closes at once; reading its FIN before closing keeps
	// this side out of TIME-WAIT, so the node is released at once.
	if n, err := io.Copy(io.Discard, c); n != 0 || err != nil {
		t.Fatalf("read %d bytes, %v; want EOF", n, err)
	}
	c.Close()
	select {
	case <-c.Released():
	case <-time.After(10 * time.Second):
		t.Fatal("the node was not released")
	}
}

// Between two adapter Sockets packets are DefaultPacketSize long (both
// advertise that they read that much), less if WithMaxMessage leaves less
// room on either side, and as utp.WithPacketSize says if given: one uTP
// packet is one INET256 message.
func TestPacketSize(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		opts, peer []Option
		want       int
	}{
		{nil, nil, DefaultPacketSize},
		{[]Option{WithSocketOptions(utp.WithPacketSize(1000))}, nil, 1000},
		{[]Option{WithMaxMessage(1500)}, nil, 1500 - maxOverhead}, // the packet must fit
		{nil, []Option{WithMaxMessage(9000)}, 9000 - maxOverhead}, // the peer reads no more
		// A peer that advertises nothing, as the v0 library, gets messages
		// of at most 1,500 bytes.
		{nil, []Option{WithSocketOptions(utp.WithMaxDatagram(0))}, 1500 - maxOverhead},
	} {
		srv := newService()
		var mu sync.Mutex
		largest := 0
		mem := openNode(t, srv)
		h := &hookNode{Node: mem}
		h.send = func(ctx context.Context, dst inet256.Addr, data []byte) error {
			mu.Lock()
			largest = max(largest, len(data))
			mu.Unlock()
			return mem.Send(ctx, dst, data)
		}
		a, b := NewSocket(h, tc.opts...), NewSocket(openNode(t, srv), tc.peer...)
		go func() {
			c, err := b.Accept()
			if err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		c, err := a.DialUTP(testContext(t, 10*time.Second), b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(make([]byte, 4*tc.want))
		c.CloseWrite()
		io.Copy(io.Discard, c)
		c.Close()
		a.Close()
		b.Close()
		// The header is 20 bytes, plus at most a 34-byte selective ACK.
		if payload := largest - 20; payload < tc.want || payload > tc.want+34 {
			t.Errorf("options %d: largest message %d bytes, want a %d-byte payload", len(tc.opts), largest, tc.want)
		}
	}
}

// A connection keeps at most the window's worth of packets
// unacknowledged: with the peer's acknowledgements held back, a large
// write stops after that many packets' worth, and no more than that is on
// the wire (the congestion window may allow fewer).
func TestWindowBoundsInFlight(t *testing.T) {
	checkLeaks(t)
	const packet, window = 1000, 5
	srv := newService()
	var mu sync.Mutex
	var dataSent int
	holdAcks := make(chan struct{})
	var once sync.Once
	memA, memB := openNode(t, srv), openNode(t, srv)
	ha := &hookNode{Node: memA}
	ha.send = func(ctx context.Context, dst inet256.Addr, data []byte) error {
		if len(data) > packet {
			mu.Lock()
			dataSent++
			mu.Unlock()
		}
		return memA.Send(ctx, dst, data)
	}
	hb := &hookNode{Node: memB}
	hb.send = func(ctx context.Context, dst inet256.Addr, data []byte) error {
		select {
		case <-holdAcks:
			return nil // swallowed: the sender hears nothing
		default:
		}
		return memB.Send(ctx, dst, data)
	}
	a := NewSocket(ha, WithMaxMessage(packet+maxOverhead), WithWindow(window))
	b := NewSocket(hb)
	defer a.Close()
	defer b.Close()
	go func() {
		if c, err := b.Accept(); err == nil {
			io.Copy(io.Discard, c)
		}
	}()
	c, err := a.DialUTP(testContext(t, 10*time.Second), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	once.Do(func() { close(holdAcks) })
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, _ := c.Write(make([]byte, 100*packet))
	mu.Lock()
	sent := dataSent
	mu.Unlock()
	// The first RTO is at least 200 ms, so nothing was sent twice yet.
	if n != window*packet || sent < 1 || sent > window {
		t.Fatalf("%d bytes written and %d full packets sent without acknowledgement, want %d packets' worth", n, sent, window)
	}
}

// A Conn made by Dial owns its node: once the connection has finished
// after Close, the node is closed.
func TestDialReleasesNode(t *testing.T) {
	checkLeaks(t)
	srv := newService()
	server := Listen(openNode(t, srv))
	defer server.Close()
	go func() {
		c, err := server.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		msg := make([]byte, 5)
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		c.Write(bytes.ToUpper(msg))
		// The server's FIN comes first, so the dialer, closing after it,
		// does not wait in TIME-WAIT.
		c.(*utp.Conn).CloseWrite()
		io.Copy(io.Discard, c)
	}()
	node, key := openNodeKey(t, srv)
	c, err := Dial(testContext(t, 10*time.Second), node, server.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello"))
	reply, err := io.ReadAll(c)
	if err != nil || string(reply) != "HELLO" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	if !isOpen(srv, key) {
		t.Fatal("the node was closed before the Conn")
	}
	c.Close()
	select {
	case <-c.Released():
	case <-time.After(10 * time.Second):
		t.Fatal("the node was not released")
	}
	if isOpen(srv, key) {
		t.Fatal("the node is still open after its Conn was released")
	}
}
