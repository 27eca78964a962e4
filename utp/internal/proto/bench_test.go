package proto

import (
	"fmt"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// BenchmarkTransfer moves data between two Conns wired back to back (no
// simulator, no loss), to measure the state machine's own cost per packet.
func BenchmarkTransfer(b *testing.B) {
	for _, size := range []int{1400, 16 << 10, 64<<10 - 64} {
		b.Run(fmt.Sprintf("packet=%dB", size), func(b *testing.B) { benchTransfer(b, size) })
	}
}

func benchTransfer(b *testing.B, packetSize int) {
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{PacketSize: packetSize}
	a := Dial(now, cfg, 100, 1)
	buf := make([]byte, a.MaxDatagram())
	n, _ := a.PollTransmit(now, buf)
	syn, _, _ := wire.Parse(buf[:n])
	c := Accept(now, cfg, syn, 500)
	src := make([]byte, 256<<10)
	dst := make([]byte, 256<<10)
	shuttle := func(from, to *Conn) int {
		k := 0
		for {
			n, ok := from.PollTransmit(now, buf)
			if !ok {
				return k
			}
			to.HandlePacket(now, buf[:n])
			k++
		}
	}
	shuttle(c, a)
	b.SetBytes(int64(packetSize))
	b.ReportAllocs()
	b.ResetTimer()
	packets := 0
	for packets < b.N {
		a.Write(now, src)
		packets += shuttle(a, c)
		for {
			n, _ := c.Read(now, dst)
			if n == 0 {
				break
			}
		}
		shuttle(c, a)
		now = now.Add(50 * time.Microsecond)
		a.HandleTimeout(now)
		c.HandleTimeout(now)
	}
}
