package utp

import "testing"

func TestRingClass(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, -1}, {256, -1}, {512, 0}, {1024, 1}, {4096, 3}, {64 << 10, 7}, {128 << 10, -1}, {3000, -1},
	} {
		if got := ringClass(tc.n); got != tc.want {
			t.Errorf("ringClass(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// A ring given back while a batch of the connection's datagrams waits to
// be sent (one may hold a view of the send ring) is not lent again: it
// could carry another connection's bytes to this one's peer.
func TestRingLenderKeepsBuffersAViewMayHold(t *testing.T) {
	const n = 2048
	k := ringClass(n)
	for ringPools[k].Get() != nil { // empty the pool
	}
	c := &Conn{}
	l := ringLender{c}
	c.flushing = true
	b := make([]byte, n)
	l.Put(b)
	if p := ringPools[k].Get(); p != nil {
		t.Fatal("a ring given back during a send was pooled")
	}
	c.flushing = false
	l.Put(b)
	// sync.Pool may drop what it holds at any time (a GC), so only the
	// size of what comes back is checked.
	if got := l.Get(n); len(got) != n {
		t.Fatalf("Get(%d) returned %d bytes", n, len(got))
	}
}
