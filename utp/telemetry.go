package utp

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/brendoncarroll/stdctx/logctx"
	"github.com/brendoncarroll/stdctx/telctx"
	"github.com/brendoncarroll/stdctx/units"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// telemetry sends logs and counters to the stdctx logger and collector of
// the Socket's background context. Whether either is configured is decided
// once, so a Socket without them pays one nil check per event.
//
// Log levels: a connection opening or closing is Debug (a busy server
// has many); a failure of the Socket itself (its PacketConn failing or
// closed under it) is Warn, so a logger at Info sees it. Levels are
// asked of the logger at each entry, so a zap.AtomicLevel changed later
// takes effect.
//
// Counters are reported in two ways, to keep the per-packet path free of
// collector calls (Collector.Incr takes an any, which allocates for most
// values, and is an interface call per packet):
//   - each Socket event that is a drop, a refusal, a RESET to an unknown
//     connection (at most WithResetRate a second) or a failure (the
//     metric* constants) is reported as it happens: such events are rare
//     in normal operation, and a monitor should see them promptly;
//   - packets, bytes, retransmissions, timeouts and drops of a connection
//     are reported once, when it ends (connClosed). Traffic of connections
//     still open is in Conn.Stats and Socket.Stats.
//
// Counters go to the Collector directly: telctx.Incr's type constraint has
// an empty type set in the stdctx version we pin, so it cannot be called.
type telemetry struct {
	log *zap.Logger      // nil when no logger is configured
	tel telctx.Collector // nil when none is configured
}

// Socket events reported to the collector as they happen, each with the
// SocketStats counter of the same meaning.
const (
	metricMalformed        = "utp/malformed"         // SocketStats.Malformed
	metricNonUTPDropped    = "utp/nonutp_dropped"    // SocketStats.NonUTPDropped
	metricSynsRefused      = "utp/syns_refused"      // SocketStats.SynsRefused
	metricSynsEvicted      = "utp/syns_evicted"      // SocketStats.SynsEvicted
	metricSynsStateless    = "utp/syns_stateless"    // SocketStats.SynsStateless
	metricRevived          = "utp/revived"           // SocketStats.Revived
	metricUnprovable       = "utp/unprovable"        // SocketStats.Unprovable
	metricResetsSent       = "utp/resets_sent"       // SocketStats.ResetsSent
	metricResetsSuppressed = "utp/resets_suppressed" // SocketStats.ResetsSuppressed
	metricSendErrors       = "utp/send_errors"       // SocketStats.SendErrors
)

func newTelemetry(ctx context.Context) telemetry {
	var t telemetry
	// logctx gives a no-op logger when none is set; its core takes no
	// level at all, while any real logger takes at least Fatal.
	if l := logctx.FromContext(ctx); l.Core().Enabled(zapcore.FatalLevel) {
		// The caller, for loggers that record it, is the Socket's code
		// that called a method below, not the method or entry.
		t.log = l.WithOptions(zap.AddCallerSkip(2))
	}
	if c := telctx.FromContext(ctx); !isNullCollector(c) {
		t.tel = c
	}
	return t
}

// entry returns msg as an entry to write at level, or nil if nothing
// would record it; then no attribute need be built.
func (t *telemetry) entry(level zapcore.Level, msg string) *zapcore.CheckedEntry {
	if t.log == nil {
		return nil
	}
	return t.log.Check(level, msg)
}

// warn logs a failure of the Socket itself. A nil err logs nothing.
func (t *telemetry) warn(msg string, err error) {
	if err == nil {
		return
	}
	if e := t.entry(zapcore.WarnLevel, msg); e != nil {
		e.Write(logctx.String("err", err.Error()))
	}
}

// event counts one Socket event in c, which Socket.Stats reads, and
// reports it to the collector at once.
func (t *telemetry) event(c *atomic.Uint64, metric string) {
	c.Add(1)
	if t.tel != nil {
		t.tel.Incr(metric, 1, units.None)
	}
}

// connOpened logs and counts a connection that was accepted or dialed.
// Its strings are constants: with neither logger nor collector it costs
// two nil checks and allocates nothing.
func (t *telemetry) connOpened(dialed bool, raddr net.Addr) {
	msg, metric := "utp: connection accepted", "utp/conns_accepted"
	if dialed {
		msg, metric = "utp: connection dialed", "utp/conns_dialed"
	}
	if e := t.entry(zapcore.DebugLevel, msg); e != nil {
		e.Write(logctx.String("peer", raddr.String()))
	}
	if t.tel != nil {
		t.tel.Incr(metric, 1, units.None)
	}
}

func (t *telemetry) connClosed(raddr net.Addr, err error, st Stats) {
	if e := t.entry(zapcore.DebugLevel, "utp: connection closed"); e != nil {
		attrs := []logctx.Attr{
			logctx.String("peer", raddr.String()),
			logctx.Int("bytes_sent", int(st.BytesSent)),
			logctx.Int("bytes_received", int(st.BytesReceived)),
			logctx.Int("retransmits", int(st.Retransmits)),
		}
		if err != nil {
			attrs = append(attrs, logctx.String("err", err.Error()))
		}
		e.Write(attrs...)
	}
	if t.tel != nil {
		t.tel.Incr("utp/conns_closed", 1, units.None)
		t.tel.Incr("utp/packets_sent", st.PacketsSent, units.None)
		t.tel.Incr("utp/packets_received", st.PacketsReceived, units.None)
		t.tel.Incr("utp/bytes_sent", st.BytesSent, units.Bytes)
		t.tel.Incr("utp/bytes_received", st.BytesReceived, units.Bytes)
		t.tel.Incr("utp/retransmits", st.Retransmits, units.None)
		t.tel.Incr("utp/timeouts", st.Timeouts, units.None)
		t.tel.Incr("utp/drops", st.PacketsMalformed+st.DroppedNoRoom, units.None)
	}
}

func isNullCollector(c telctx.Collector) bool {
	_, null := c.(telctx.NullCollector)
	return null
}
