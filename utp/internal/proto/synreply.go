package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// SynReply returns the STATE with which a Conn made by Accept(now, cfg,
// syn, isn) would answer syn, without making one: a Socket whose unproven
// handshakes are at their bound answers a SYN with it, keeps only a
// compact record of the handshake, and calls Accept when the dialer's
// proof arrives, as SYN cookies let a TCP listener answer a SYN without a
// connection (RFC 4987 3.6). It allocates nothing, where Accept builds a
// whole connection with its buffers and controllers, most of a forged
// SYN's cost.
//
// TestSynReplyMatchesAccept holds the two replies byte for byte equal.
func SynReply(now time.Time, cfg Config, syn *wire.Header, isn uint16) wire.Header {
	cfg = cfg.withDefaults()
	ts := micros(now) + cfg.TimestampOffset
	h := wire.Header{
		Type:        wire.State,
		ConnID:      syn.ConnID,
		Timestamp:   ts,
		WndSize:     uint32(initialWindow(cfg)),
		SeqNr:       isn,
		AckNr:       syn.SeqNr,
		MaxDatagram: advertisedFor(&cfg, syn),
	}
	if syn.Timestamp != 0 { // the delay the SYN took, as noteReceived measures it
		h.TimestampDiff = ts - syn.Timestamp
	}
	return h
}
