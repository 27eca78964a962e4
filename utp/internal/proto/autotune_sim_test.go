package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// tunePath runs one bulk flow with the default controller and buffers
// over a 1 Gbit/s bottleneck with a 200 ms round trip and a buffer of one
// bandwidth-delay product (25 MB), and returns the share of the link used
// from 10 s to 20 s and the receiver's buffer at the end. 8,000-byte
// packets keep the run short; the windows are what a 1,400-byte flow
// needs.
func tunePath(t *testing.T, seed uint64, cfg Config) (float64, int) {
	t.Helper()
	const rate, rtt = 1e9, 200 * time.Millisecond
	bdp := int(rate / 8 * rtt.Seconds())
	cfg.PacketSize, cfg.MaxRecvDatagram = 8000, 65535
	link := netsim.LinkConfig{Delay: rtt / 2, Rate: rate, QueueBytes: bdp}
	spec := pairSpec{seed: seed, link: link, back: &netsim.LinkConfig{Delay: rtt / 2}, aToB: 1 << 40, cfg: cfg}
	p, m := runMetered(t, spec, 10*time.Second, 20*time.Second)
	util := float64(m.delivered*8) / rate / m.to.Sub(m.from).Seconds()
	return util, p.b.conn.rcv.ring.limit
}

// Issue 17: the receive buffer grows to the path. 1 Gbit/s × 200 ms
// needs 25 MB in flight plus LEDBAT++'s 60 ms of queue (7.5 MB): the
// buffer starts at 4 MiB and must grow past that to fill the link, and a
// buffer held at the start shows that the path needs it.
func TestRecvBufferGrowsToPath(t *testing.T) {
	skipIfShort(t)
	const seed = 1731
	util, space := tunePath(t, seed, Config{})
	t.Logf("seed %d: utilisation %.3f from 10 s, receive buffer %d bytes", seed, util, space)
	if space < 25e6 {
		t.Errorf("seed %d: receive buffer %d bytes, want at least the 25 MB bandwidth-delay product", seed, space)
	}
	if util < 0.9 {
		t.Errorf("seed %d: utilisation %.3f from 10 s, want at least 0.9", seed, util)
	}
	fixed, _ := tunePath(t, seed, Config{RecvBufferSize: initialRecvSpace})
	t.Logf("seed %d: with the buffer held at %d bytes: utilisation %.3f", seed, initialRecvSpace, fixed)
	if fixed > 0.5 {
		t.Errorf("seed %d: a %d-byte buffer used %.3f of the link; the path does not show growth", seed, initialRecvSpace, fixed)
	}
}
