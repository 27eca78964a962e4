package utp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestSegmentRun(t *testing.T) {
	batch := func(lens ...int) *outBatch {
		var b outBatch
		for _, l := range lens {
			b.add(outgoing{b: make([]byte, l)})
		}
		return &b
	}
	many := make([]int, 70)
	for i := range many {
		many[i] = 1000
	}
	for _, tc := range []struct {
		name string
		lens []int
		want []int // run ends, in order
	}{
		{"one", []int{1452}, []int{1}},
		{"equal", []int{1452, 1452, 1452}, []int{3}},
		{"shorter last ends a run", []int{1452, 1452, 20, 1452}, []int{3, 4}},
		{"longer one starts a run", []int{20, 1452, 1452}, []int{1, 3}},
		{"segment count bounded", many, []int{maxSegments, 70}},
		{"bytes bounded", []int{30000, 30000, 30000}, []int{2, 3}},
	} {
		b := batch(tc.lens...)
		var got []int
		for i := 0; i < b.n; {
			i = segmentRun(b, i)
			got = append(got, i)
		}
		if !slicesEqual(got, tc.want) {
			t.Errorf("%s: runs end at %v, want %v", tc.name, got, tc.want)
		}
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestGROSize(t *testing.T) {
	size := binary.NativeEndian.AppendUint32(nil, 1452)
	gro := cmsg(unix.SOL_UDP, unix.UDP_GRO, size)
	other := cmsg(unix.SOL_IP, unix.IP_TOS, []byte{0, 0, 0, 0})
	for _, tc := range []struct {
		name string
		oob  []byte
		want int
	}{
		{"none", nil, 0},
		{"alone", gro, 1452},
		{"after another message", append(bytes.Clone(other), gro...), 1452},
		{"other only", other, 0},
		{"truncated", gro[:unix.CmsgLen(0)+2], 0},
		{"length past the buffer", func() []byte {
			b := bytes.Clone(gro)
			(*unix.Cmsghdr)(unsafe.Pointer(&b[0])).SetLen(1000)
			return b
		}(), 0},
	} {
		if got := groSize(tc.oob); got != tc.want {
			t.Errorf("%s: groSize %d, want %d", tc.name, got, tc.want)
		}
	}
}

// With small packets on loopback, Linux segments our sends and coalesces
// our reads; the data still arrives intact, and the receiver answers each
// coalesced read with one acknowledgement instead of one for every second
// packet.
func TestUDPOffloadSmallPackets(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t, WithPacketSize(1200)), listenUDP(t, WithPacketSize(1200))
	if !a.off.gsoOn() || !a.off.gro {
		var u unix.Utsname
		_ = unix.Uname(&u)
		t.Fatalf("UDP segmentation (%v) or coalescing (%v) not enabled on Linux %s", a.off.gsoOn(), a.off.gro, unix.ByteSliceToString(u.Release[:]))
	}
	const size = 16 << 20
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		sum   [32]byte
		stats Stats
		err   error
	}
	got := make(chan result, 1)
	go func() {
		c, err := b.AcceptUTP()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		h := sha256.New()
		_, err = io.Copy(h, c)
		got <- result{[32]byte(h.Sum(nil)), c.Stats(), err}
	}()
	c, err := a.DialUTP(ctx, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.sum != sha256.Sum256(data) {
		t.Fatal("data differs")
	}
	sa, sb := a.Stats(), b.Stats()
	t.Logf("sender %+v; receiver %+v; receiving conn %d packets in, %d out", sa, sb, r.stats.PacketsReceived, r.stats.PacketsSent)
	if sa.SegmentedSends == 0 || sb.CoalescedReads == 0 {
		t.Errorf("segmented sends %d, coalesced reads %d: want both above 0", sa.SegmentedSends, sb.CoalescedReads)
	}
	if r.stats.PacketsSent*4 > r.stats.PacketsReceived {
		t.Errorf("receiver sent %d packets for %d received: coalesced reads are not acknowledged as one", r.stats.PacketsSent, r.stats.PacketsReceived)
	}
}
