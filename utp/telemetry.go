package utp

import (
	"context"
	"net"

	"github.com/brendoncarroll/stdctx/logctx"
	"github.com/brendoncarroll/stdctx/telctx"
	"github.com/brendoncarroll/stdctx/units"
	"go.uber.org/zap/zapcore"
)

// telemetry sends logs and counters to the stdctx logger and collector of
// the Socket's background context. Whether either is configured is decided
// once, so a Socket without them pays one branch per event.
//
// Counters go to the Collector directly: telctx.Incr's type constraint has
// an empty type set in the stdctx version we pin, so it cannot be called.
type telemetry struct {
	ctx  context.Context
	logs bool
	tel  telctx.Collector // nil when none is configured
}

func newTelemetry(ctx context.Context) telemetry {
	t := telemetry{ctx: ctx, logs: logctx.FromContext(ctx).Core().Enabled(zapcore.DebugLevel)}
	if c := telctx.FromContext(ctx); !isNullCollector(c) {
		t.tel = c
	}
	return t
}

func (t telemetry) warn(msg string, err error) {
	if t.logs && err != nil {
		logctx.Warn(t.ctx, msg, logctx.String("err", err.Error()))
	}
}

func (t telemetry) connOpened(how string, raddr net.Addr) {
	if t.logs {
		logctx.Debug(t.ctx, "utp: connection "+how, logctx.String("peer", raddr.String()))
	}
	if t.tel != nil {
		t.tel.Incr("utp/conns_"+how, 1, units.None)
	}
}

func (t telemetry) connClosed(raddr net.Addr, err error, st Stats) {
	if t.logs {
		attrs := []logctx.Attr{
			logctx.String("peer", raddr.String()),
			logctx.Int("bytes_sent", int(st.BytesSent)),
			logctx.Int("bytes_received", int(st.BytesReceived)),
			logctx.Int("retransmits", int(st.Retransmits)),
		}
		if err != nil {
			attrs = append(attrs, logctx.String("err", err.Error()))
		}
		logctx.Debug(t.ctx, "utp: connection closed", attrs...)
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
