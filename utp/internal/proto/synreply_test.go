package proto

import (
	"bytes"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// SynReply answers a SYN byte for byte as the Conn that Accept builds
// would: same window, extension, sequence numbers and timestamps, for
// configurations that change each (default and small receive buffers,
// no yielding, a datagram size advertised or not, a SYN with and
// without a timestamp and a size extension).
func TestSynReplyMatchesAccept(t *testing.T) {
	now := time.Unix(1_700_000_000, 123_456_000)
	cfgs := []Config{
		{},
		{RecvBufferSize: 64 << 10},
		{RecvBufferSize: 32 << 20, NoYield: true},
		{MaxRecvDatagram: 65_000, PacketSize: 9000},
		{RecvBufferSize: 1000, PacketSize: 1400}, // raised to one packet
	}
	syns := []wire.Header{
		{Type: wire.Syn, ConnID: 7, SeqNr: 100, WndSize: 1 << 20, Timestamp: 4_000_000_000},
		{Type: wire.Syn, ConnID: 65535, SeqNr: 65535, MaxDatagram: 9000},
		{Type: wire.Syn, ConnID: 0, SeqNr: 0, Timestamp: uint32(now.UnixMicro()) + 5},
	}
	for i, cfg := range cfgs {
		for j, syn := range syns {
			isn := uint16(1000*i + 17*j)
			c := Accept(now, cfg, syn, isn)
			var want [256]byte
			n, ok := c.PollTransmit(now, want[:])
			if !ok {
				t.Fatalf("cfg %d, SYN %d: Accept's Conn sent no reply", i, j)
			}
			h := SynReply(now, cfg, &syn, isn)
			got := h.Append(nil)
			if !bytes.Equal(got, want[:n]) {
				w, _, _ := wire.Parse(want[:n])
				t.Errorf("cfg %d, SYN %d: SynReply %+v, Accept's Conn replied %+v", i, j, h, w)
			}
		}
	}
}
