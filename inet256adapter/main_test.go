package inet256adapter

import (
	"context"
	crand "crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/inet256/pkg/inet256"
	"github.com/inet256/inet256/pkg/inet256mem"
	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: the
// pump, the probe, lookups and Sockets must all end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkLeaks fails t if goroutines started during it are still running
// when it ends (after its other cleanups, which close what it opened).
func checkLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// memQueue is the per-node queue of the in-process service, raised from
// inet256mem's default of 4 so that the service itself does not drop
// messages under uTP's bursts.
const memQueue = 128

func newService() inet256.Service { return inet256mem.New(inet256mem.WithQueueLen(memQueue)) }

// openNode opens a node with a fresh key on srv.
func openNode(t *testing.T, srv inet256.Service) inet256.Node {
	t.Helper()
	n, _ := openNodeKey(t, srv)
	return n
}

// openNodeKey is openNode that also returns the node's key.
func openNodeKey(t *testing.T, srv inet256.Service) (inet256.Node, inet256.PrivateKey) {
	t.Helper()
	_, priv, err := inet256.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := srv.Open(context.Background(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return n, priv
}

// isOpen reports whether srv still holds the node of key: inet256mem
// refuses to open a key twice.
func isOpen(srv inet256.Service, key inet256.PrivateKey) bool {
	n, err := srv.Open(context.Background(), key)
	if err != nil {
		return true
	}
	n.Close()
	return false
}

// randomAddr is an address no node has.
func randomAddr(t *testing.T) inet256.Addr {
	t.Helper()
	var a inet256.Addr
	if _, err := crand.Read(a[:]); err != nil {
		t.Fatal(err)
	}
	return a
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// hookNode wraps a node and lets a test replace or observe its calls.
type hookNode struct {
	inet256.Node
	send    func(ctx context.Context, dst inet256.Addr, data []byte) error
	receive func(ctx context.Context, fn inet256.ReceiveFunc) error
	lookup  func(ctx context.Context, addr inet256.Addr) (inet256.PublicKey, error)
	close   func() error

	sends, lookups atomic.Int64
}

func (h *hookNode) Send(ctx context.Context, dst inet256.Addr, data []byte) error {
	h.sends.Add(1)
	if h.send != nil {
		return h.send(ctx, dst, data)
	}
	return h.Node.Send(ctx, dst, data)
}

func (h *hookNode) Receive(ctx context.Context, fn inet256.ReceiveFunc) error {
	if h.receive != nil {
		return h.receive(ctx, fn)
	}
	return h.Node.Receive(ctx, fn)
}

func (h *hookNode) LookupPublicKey(ctx context.Context, addr inet256.Addr) (inet256.PublicKey, error) {
	h.lookups.Add(1)
	if h.lookup != nil {
		return h.lookup(ctx, addr)
	}
	return h.Node.LookupPublicKey(ctx, addr)
}

func (h *hookNode) Close() error {
	if h.close != nil {
		return h.close()
	}
	return h.Node.Close()
}

// waitFor polls cond every 5 ms until it holds, failing t after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(d)
	for !cond() {
		if time.Now().After(limit) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
