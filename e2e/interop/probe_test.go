package interop

import (
	"context"
	"io"
	"testing"
	"time"
)

// extPadding is the extension type of our path MTU probes' padding
// (docs/protocol.md, Path MTU discovery).
const extPadding = 0x50

// TestProbeIgnored sends each peer what our path MTU discovery sends: an
// empty DATA packet with its own sequence number, padded to 1,400 bytes
// by a chain of padding extensions behind an empty selective ACK, between
// two data packets. The peer must skip the padding, deliver the stream
// unchanged and acknowledge past the probe: otherwise probing toward it
// would corrupt or stall the stream. libtorrent skips unknown extensions
// the same way (utp_stream.cpp, incoming_packet).
func TestProbeIgnored(t *testing.T) {
	for _, k := range append(append([]peerKind(nil), peerKinds...), oursKind) {
		t.Run(k.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p := newPeer(t, k)
			accepted := make(chan error, 1)
			var conn io.ReadCloser
			go func() {
				c, err := p.Accept(ctx)
				conn = c
				accepted <- err
			}()
			r := newRawPeer(t, ctx, p.Addr())
			const recvID, isn = 21000, 500
			r.send("SYN", hdr{typ: stSyn, connID: recvID, wnd: rawWnd, seq: isn}, nil)
			reply, _ := r.expect("SYN reply", progressBound, func(h hdr, _ []byte) bool { return h.typ == stState })
			ack := reply.seq - 1
			data := func(seq uint16, exts []ext, payload string) {
				r.send("DATA", hdr{typ: stData, connID: recvID + 1, wnd: rawWnd, seq: seq, ack: ack, exts: exts}, []byte(payload))
			}
			pad := []ext{{extSACK, make([]byte, 4)}}
			for size := 20 + 6; size < 1400; {
				n := min(255, 1400-size-2)
				pad = append(pad, ext{extPadding, make([]byte, n)})
				size += 2 + n
			}
			data(isn+1, nil, "hello ")
			data(isn+2, pad, "")
			data(isn+3, nil, "world")
			if err := <-accepted; err != nil {
				t.Fatalf("accept: %v", err)
			}
			defer conn.Close()
			got := make([]byte, len("hello world"))
			done := make(chan error, 1)
			go func() {
				_, err := io.ReadFull(conn, got)
				done <- err
			}()
			r.expect("ACK past the probe", progressBound, func(h hdr, _ []byte) bool {
				return h.typ == stState && int16(h.ack-(isn+3)) >= 0
			})
			select {
			case err := <-done:
				if err != nil || string(got) != "hello world" {
					t.Fatalf("peer read %q: %v", got, err)
				}
			case <-ctx.Done():
				t.Fatalf("peer read nothing: %v", ctx.Err())
			}
		})
	}
}
