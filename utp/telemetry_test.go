package utp

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/brendoncarroll/stdctx/logctx"
	"github.com/brendoncarroll/stdctx/telctx"
	"github.com/brendoncarroll/stdctx/units"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// countingCollector is a telctx.Collector that sums what it is given.
type countingCollector struct {
	mu     sync.Mutex
	counts map[string]uint64
}

func (c *countingCollector) Incr(m string, x any, _ units.Unit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch v := x.(type) {
	case int:
		c.counts[m] += uint64(v)
	case uint64:
		c.counts[m] += v
	}
}

func (c *countingCollector) Set(string, any, units.Unit) {}

func (c *countingCollector) get(m string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[m]
}

// The original README's promise: logs and metrics go to the stdctx logger
// and collector of the context given with WithBackground.
func TestTelemetryThroughStdctx(t *testing.T) {
	checkLeaks(t)
	core, logs := observer.New(zapcore.DebugLevel)
	col := &countingCollector{counts: map[string]uint64{}}
	ctx := telctx.NewContext(logctx.NewContext(context.Background(), zap.New(core)), col)

	a, b := listenUDP(t, WithBackground(ctx)), listenUDP(t)
	ca, cb := dialAcceptB(t, a, b)
	go func() { cb.Write(make([]byte, 100<<10)); cb.Close() }()
	if n, err := io.Copy(io.Discard, ca); err != nil || n != 100<<10 {
		t.Fatalf("read %d, %v", n, err)
	}
	ca.Close()
	a.Close()

	if col.get("utp/conns_dialed") != 1 || col.get("utp/conns_closed") != 1 {
		t.Errorf("connection counters %v", col.counts)
	}
	if col.get("utp/bytes_received") != 100<<10 || col.get("utp/packets_received") == 0 {
		t.Errorf("traffic counters %v", col.counts)
	}
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Message)
	}
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, "utp: connection dialed") || !strings.Contains(joined, "utp: connection closed") {
		t.Errorf("logs: %q", msgs)
	}
}

// Without a logger or collector nothing is recorded and the fast path is
// taken: the telemetry is switched off at NewSocket.
func TestTelemetryOffByDefault(t *testing.T) {
	checkLeaks(t)
	s := listenUDP(t)
	if s.tel.logs || s.tel.tel != nil {
		t.Fatalf("telemetry on without a configured context: %+v", s.tel)
	}
}
