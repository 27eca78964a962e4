package proto

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// writepost.go: the rest of a blocked Write, lent with PostWrite, is
// copied into the send buffer by the acknowledgements that free room,
// sent in their steps, in stream order after what Write took, and the
// writer hears EventWritable only once the whole loan is taken.
func TestScriptWriteLoanTakenAsAcksFreeRoom(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) {
		c.PacketSize = 1000
		c.NewController = func(time.Time, int) cc.Controller { return &fixedWindow{wnd: 20_000} }
	}))
	big := make([]byte, 3*minSendLimit+123)
	for i := range big {
		big[i] = byte(i % 251)
	}
	n, err := tc.conn.Write(tc.now, big)
	if err != nil || n == 0 || n == len(big) {
		t.Fatalf("Write = %d, %v; want part of %d bytes", n, err, len(big))
	}
	tc.conn.PostWrite(big[n:])
	tc.finish("Write")
	var stream []byte
	writable := false
	for i := 0; i < 10_000 && !writable; i++ {
		sent := tc.takeAll()
		if len(sent) == 0 {
			t.Fatalf("nothing sent after %d bytes, the loan at %d of %d", len(stream), tc.conn.snd.posted, len(big)-n)
		}
		for _, p := range sent {
			stream = append(stream, p.payload...)
		}
		// What Write took, then the loan's bytes as room is freed.
		if taken := n + tc.conn.snd.posted; len(stream) > taken || !bytes.Equal(stream, big[:len(stream)]) {
			t.Fatalf("sent %d bytes that are not the stream's first (%d taken)", len(stream), taken)
		}
		tc.peerAck(sent[len(sent)-1].h.SeqNr)
		writable = slices.ContainsFunc(tc.events, func(e Event) bool { return e.Kind == EventWritable })
		if writable {
			tc.wantEvent("the whole loan taken", EventWritable)
			if tc.conn.snd.posted != len(big)-n {
				t.Fatalf("EventWritable with %d of the loan's %d bytes taken", tc.conn.snd.posted, len(big)-n)
			}
		}
	}
	if !writable {
		t.Fatal("the loan was never all taken")
	}
	if got := tc.conn.TakeWritten(); got != len(big)-n {
		t.Fatalf("TakeWritten = %d, want %d", got, len(big)-n)
	}
	clear(big[n:]) // the loan has ended: the Conn must not read it again
	for i := 0; i < 10_000 && tc.conn.Buffered() > 0; i++ {
		sent := tc.takeAll()
		for _, p := range sent {
			stream = append(stream, p.payload...)
		}
		if len(sent) > 0 {
			tc.peerAck(sent[len(sent)-1].h.SeqNr)
		}
	}
	for i := range big[n:] {
		big[n+i] = byte((n + i) % 251)
	}
	if !bytes.Equal(stream, big) {
		t.Fatalf("the stream (%d bytes) is not what was written (%d)", len(stream), len(big))
	}
	if got := tc.conn.Stats().BytesWritten; got != uint64(len(big)) {
		t.Fatalf("BytesWritten %d, want %d", got, len(big))
	}
}

// A loan the connection can take no more of wakes its writer at the next
// acknowledgement: after CloseWrite no byte may follow the FIN.
func TestScriptWriteLoanEndsAtCloseWrite(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) {
		c.PacketSize = 1000
		c.NewController = func(time.Time, int) cc.Controller { return &fixedWindow{wnd: 20_000} }
	}))
	big := make([]byte, 2*minSendLimit)
	n, _ := tc.conn.Write(tc.now, big)
	tc.conn.PostWrite(big[n:])
	tc.finish("Write")
	sent := tc.takeAll()
	tc.peerAck(sent[len(sent)-1].h.SeqNr)
	tc.wantNoEvent("a part of the loan taken", EventWritable)
	taken := tc.conn.snd.posted
	if taken == 0 {
		t.Fatal("the acknowledgement took nothing of the loan")
	}
	tc.closeWrite()
	sent = tc.takeAll()
	tc.peerAck(sent[len(sent)-1].h.SeqNr)
	tc.wantEvent("the loan can take no more", EventWritable)
	if !tc.conn.WriteLoanDone() {
		t.Fatal("WriteLoanDone false after CloseWrite")
	}
	if got := tc.conn.TakeWritten(); got != taken {
		t.Fatalf("TakeWritten = %d after CloseWrite, want the %d taken before it", got, taken)
	}
	if got := tc.conn.Stats().BytesWritten; got != uint64(n+taken) {
		t.Fatalf("BytesWritten %d, want %d", got, n+taken)
	}
}
