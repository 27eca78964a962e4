package utp

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/brendoncarroll/stdctx/logctx"
	"github.com/brendoncarroll/stdctx/telctx"
	"github.com/brendoncarroll/stdctx/units"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
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
	if s.tel.log != nil || s.tel.tel != nil {
		t.Fatalf("telemetry on without a configured context: %+v", s.tel)
	}
}

// Levels: a logger at Info sees the Socket's warnings but not the Debug
// entries for each connection.
func TestTelemetryLogLevels(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		ctx := logctx.NewContext(context.Background(), zap.New(core))
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
		pc := n.Listen("a")
		a, b := NewSocket(pc, WithBackground(ctx)), NewSocket(n.Listen("b"))
		defer b.Close()
		defer a.Close()
		ca, _ := dialAccept(t, a, b)
		ca.Close()
		pc.Close() // from outside: the Socket closes itself and warns
		synctest.Wait()

		var warned bool
		for _, e := range logs.All() {
			switch {
			case e.Level < zapcore.InfoLevel:
				t.Errorf("an Info logger got a %v entry: %q", e.Level, e.Message)
			case e.Level == zapcore.WarnLevel && e.Message == "utp: socket closed":
				warned = e.ContextMap()["err"] != nil
			default:
				t.Errorf("unexpected %v entry %q", e.Level, e.Message)
			}
		}
		if !warned {
			t.Errorf("no warning with its cause when the PacketConn closed under the Socket: %v", logs.All())
		}
	})
}

// Socket events that are drops or refusals reach the collector as they
// happen, not when a connection ends.
func TestTelemetrySocketEvents(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		col := &countingCollector{counts: map[string]uint64{}}
		ctx := telctx.NewContext(context.Background(), col)
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
		a := NewSocket(n.Listen("a"))
		b := NewSocket(n.Listen("b"), WithBackground(ctx), WithBacklog(1), WithNonUTPQueue(1))
		defer b.Close()
		defer a.Close()

		raw := n.Listen("raw")
		defer raw.Close()
		raw.WriteTo([]byte("queued"), b.Addr())
		raw.WriteTo([]byte("dropped: queue of 1"), b.Addr())
		bad := wire.Header{Type: wire.State, ConnID: 7, SACK: []byte{1, 2, 3, 4}}
		pkt := bad.Append(nil)
		raw.WriteTo(pkt[:len(pkt)-2], b.Addr()) // extension cut short
		if _, err := a.DialUTP(context.Background(), b.Addr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // the dialer's confirmation (delayed-ACK interval) reaches b
		if _, err := a.DialUTP(context.Background(), b.Addr()); !errors.Is(err, ErrConnRefused) {
			t.Fatalf("dial beyond the backlog: %v", err)
		}
		for _, m := range []string{metricNonUTPDropped, metricMalformed, metricSynsRefused, metricResetsSent} {
			if got := col.get(m); got != 1 {
				t.Errorf("%s = %d while the Socket is open, want 1 (all: %v)", m, got, col.counts)
			}
		}
		st := b.Stats()
		if st.NonUTPDropped != 1 || st.Malformed != 1 || st.SynsRefused != 1 || st.ResetsSent != 1 {
			t.Errorf("Stats disagree with the collector: %+v", st)
		}
	})
}
