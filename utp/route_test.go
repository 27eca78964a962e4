package utp

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// The inbox remembers the connection of the last packet it queued, so
// that the rest of a coalesced read skips the table: only for a packet
// with the same id, never for SYN or RESET (looked up by more than
// their id), and only until the inbox is flushed, which may end the
// connection.
func TestInboxRecentConnection(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	ca, cb := dialAccept(t, a, b)
	defer ca.Close()
	defer cb.Close()

	var in inbox
	id := cb.m.RecvID()
	ack := wire.Header{Type: wire.State, ConnID: id}
	if in.recent(&ack) != nil {
		t.Fatal("an empty inbox names a connection")
	}
	in.add(cb, ack, nil, time.Now())
	in.remember(cb, &ack)
	for _, tc := range []struct {
		h    wire.Header
		want *Conn
	}{
		{wire.Header{Type: wire.Data, ConnID: id}, cb},
		{wire.Header{Type: wire.State, ConnID: id}, cb},
		{wire.Header{Type: wire.Data, ConnID: id + 1}, nil},
		{wire.Header{Type: wire.Syn, ConnID: id - 1}, nil},
		{wire.Header{Type: wire.Syn, ConnID: id}, nil},
		{wire.Header{Type: wire.Reset, ConnID: id}, nil},
	} {
		if got := in.recent(&tc.h); got != tc.want {
			t.Errorf("type %v id %d: recent gives %p, want %p", tc.h.Type, tc.h.ConnID, got, tc.want)
		}
	}
	syn := wire.Header{Type: wire.Syn, ConnID: id + 7}
	in.remember(ca, &syn)
	if in.recent(&wire.Header{Type: wire.Data, ConnID: id + 7}) != nil {
		t.Error("a SYN's connection was remembered")
	}
	in.flush(time.Now())
	if in.recent(&ack) != nil {
		t.Error("the connection is remembered past the flush")
	}
}
