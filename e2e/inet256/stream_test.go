package inet256e2e

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/inet256adapter"
	"github.com/inet256/go-utp/v2/utp"
)

// topologies are the two layouts every scenario runs on.
var topologies = []struct {
	name string
	make func(testing.TB) *topology
}{
	{"two-daemons", twoDaemons},
	{"one-daemon", oneDaemon},
}

// sockets puts a uTP Socket on each node of top; they own the nodes and
// are closed when the test ends. If the test failed, the adapter's and the
// Sockets' counters are logged first.
func (top *topology) sockets(t testing.TB, opts ...inet256adapter.Option) (a, b *utp.Socket) {
	pcs := [2]*inet256adapter.PacketConn{
		inet256adapter.NewPacketConn(top.nodes[0], opts...),
		inet256adapter.NewPacketConn(top.nodes[1], opts...),
	}
	top.pcs = pcs
	a, b = inet256adapter.NewSocketFrom(pcs[0]), inet256adapter.NewSocketFrom(pcs[1])
	t.Cleanup(func() {
		if t.Failed() {
			for i, s := range []*utp.Socket{a, b} {
				t.Logf("%s node %d: adapter %+v (failure: %v); socket %+v", top.name, i, pcs[i].Stats(), pcs[i].Err(), s.Stats())
			}
		}
		a.Close()
		b.Close()
	})
	return a, b
}

// source is an endless deterministic pseudo-random byte stream.
func source(seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// transfer is the outcome of one side of an exchange.
type transfer struct {
	sent, received [32]byte // SHA-256 of what was written and read
	nRead          int64
	err            error
}

// exchange writes size bytes of source(seed) to c and half-closes, while
// reading until EOF; both directions run at once. progress, if not nil,
// counts the bytes read as they arrive.
func exchange(c net.Conn, seed uint64, size int64, progress *atomic.Int64) transfer {
	werr := make(chan error, 1)
	var sent hash.Hash = sha256.New()
	go func() {
		_, err := io.CopyN(c, io.TeeReader(source(seed), sent), size)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		werr <- err
	}()
	recv := sha256.New()
	var w io.Writer = recv
	if progress != nil {
		w = io.MultiWriter(recv, counter{progress})
	}
	n, rerr := io.Copy(w, c)
	var tr transfer
	tr.err = errors.Join(rerr, <-werr)
	tr.nRead = n
	copy(tr.sent[:], sent.Sum(nil))
	copy(tr.received[:], recv.Sum(nil))
	return tr
}

type counter struct{ n *atomic.Int64 }

func (c counter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// sumOf is the SHA-256 of size bytes of source(seed).
func sumOf(seed uint64, size int64) [32]byte {
	h := sha256.New()
	io.CopyN(h, source(seed), size)
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// dialPair connects a to b and returns both ends, with deadlines at
// bound so that a stall fails the test instead of hanging it.
func dialPair(t testing.TB, a, b *utp.Socket, bound time.Duration) (client, server *utp.Conn) {
	t.Helper()
	type res struct {
		c   *utp.Conn
		err error
	}
	acc := make(chan res, 1)
	go func() {
		c, err := b.AcceptUTP()
		acc <- res{c, err}
	}()
	ctx := testContext(t, 30*time.Second)
	client, err := a.DialUTP(ctx, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	r := <-acc
	if r.err != nil {
		client.Close()
		t.Fatal(r.err)
	}
	server = r.c
	t.Cleanup(func() { client.Close(); server.Close() })
	deadline := time.Now().Add(bound)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	if server.RemoteAddr() != a.Addr() || client.RemoteAddr() != b.Addr() {
		t.Fatalf("addresses: server sees %v, want %v; client sees %v, want %v", server.RemoteAddr(), a.Addr(), client.RemoteAddr(), b.Addr())
	}
	return client, server
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }
