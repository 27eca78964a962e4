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
	ca, cb := inboxConns(t)
	var in inbox
	id := cb.m.RecvID()
	ack := wire.Header{Type: wire.State, ConnID: id}
	if in.recent(&ack) != nil {
		t.Fatal("an empty inbox names a connection")
	}
	in.add(cb, &ack, nil, time.Now())
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

// route parses each header in its place in the inbox (slot), so add
// copies nothing; a header parsed before a flush moved its place (a
// packet for another connection, a full inbox, parsed into spare) is
// copied to the front, whole.
func TestInboxSlotSurvivesFlush(t *testing.T) {
	ca, cb := inboxConns(t)
	var in inbox
	now := time.Now()
	h := in.slot()
	*h = wire.Header{Type: wire.State, ConnID: cb.m.RecvID(), AckNr: 7}
	in.add(cb, h, nil, now)
	if in.n != 1 || &in.headers[0] != h {
		t.Fatalf("the first header was not parsed in its place (n %d)", in.n)
	}
	other := wire.Header{Type: wire.State, ConnID: ca.m.RecvID(), AckNr: 42, SACK: []byte{1, 0, 0, 0}}
	h = in.slot()
	*h = other
	in.add(ca, h, nil, now) // flushes cb's packet first
	if in.c != ca || in.n != 1 || in.headers[0].AckNr != 42 || in.headers[0].ConnID != other.ConnID || len(in.headers[0].SACK) != 4 {
		t.Fatalf("after the flush the inbox holds %d packets for %p, the first %+v; want ca's header %+v", in.n, in.c, in.headers[0], other)
	}
	for i := 1; in.n < inboxSize; i++ {
		h = in.slot()
		*h = wire.Header{Type: wire.State, ConnID: ca.m.RecvID(), AckNr: uint16(100 + i)}
		in.add(ca, h, nil, now)
	}
	h = in.slot()
	if h != &in.spare {
		t.Fatal("a full inbox gave a slot inside it")
	}
	*h = wire.Header{Type: wire.State, ConnID: ca.m.RecvID(), AckNr: 999}
	in.add(ca, h, nil, now) // flushes the full inbox
	if in.n != 1 || in.headers[0].AckNr != 999 {
		t.Fatalf("the header parsed while the inbox was full: %d queued, the first acks %d; want 1, 999", in.n, in.headers[0].AckNr)
	}
	in.flush(now)
}

// inboxConns returns two connected Conns over loopback for an inbox to
// queue packets for; they are closed when the test ends.
func inboxConns(t *testing.T) (ca, cb *Conn) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	ca, cb = dialAccept(t, a, b)
	t.Cleanup(func() {
		cb.Close()
		ca.Close()
	})
	return ca, cb
}
