package proto

import (
	"bytes"
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// PollTransmitView leaves a first transmission's payload (of minView
// bytes or more) in the send buffer (the datagram is the header in buf, then the tail) and copies a
// retransmission whole, which the peer may acknowledge while it is sent.
func TestPollTransmitView(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize, c.PacketSizeOverride = 2000, true }))
	payload := bytes.Repeat([]byte("0123456789"), 400) // two full packets
	if n, err := tc.conn.Write(tc.now, payload); n != len(payload) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	buf := make([]byte, tc.conn.MaxDatagram())
	var got []byte
	for i := range 2 {
		var tail [2][]byte
		n, ok := tc.conn.PollTransmitView(tc.now, buf, &tail)
		if !ok {
			t.Fatalf("packet %d: nothing to send", i)
		}
		h, rest, err := wire.Parse(buf[:n])
		if err != nil || h.Type != wire.Data || len(rest) != 0 {
			t.Fatalf("packet %d: buf holds %d bytes (%v, %d after the header), want only a DATA header", i, n, err, len(rest))
		}
		got = append(append(got, tail[0]...), tail[1]...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("tails hold %q, want the payload", got)
	}
	var tail [2][]byte
	if _, ok := tc.conn.PollTransmitView(tc.now, buf, &tail); ok {
		t.Fatal("a third packet")
	}
	tc.now = tc.conn.NextDeadline() // the retransmission timer
	tc.conn.HandleTimeout(tc.now)
	tail = [2][]byte{[]byte("stale")} // PollTransmitView sets it, whatever it held
	n, ok := tc.conn.PollTransmitView(tc.now, buf, &tail)
	if !ok {
		t.Fatal("no retransmission after the RTO")
	}
	h, rest, err := wire.Parse(buf[:n])
	if err != nil || tail[0] != nil || tail[1] != nil || !bytes.Equal(rest, payload[:2000]) {
		t.Fatalf("retransmission: %v %v, %d bytes in buf and a %d+%d byte tail; want the whole first packet in buf", h.Type, err, len(rest), len(tail[0]), len(tail[1]))
	}
}
