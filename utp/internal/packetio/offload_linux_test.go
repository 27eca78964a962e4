package packetio

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestSegmentRun(t *testing.T) {
	batch := func(lens ...int) []Datagram {
		var ds []Datagram
		for _, l := range lens {
			ds = append(ds, Datagram{Head: make([]byte, l)})
		}
		return ds
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
		for i := 0; i < len(b); {
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

// On Linux a UDP socket gets segmentation, coalescing, gathered sends,
// the error queue and DF: every test of the fast paths relies on them.
// Segmentation is probed when first needed, not at open.
func TestUDPOffloadEnabled(t *testing.T) {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := New(u, Config{Buffer: 1 << 20}).(*udp)
	defer c.Close()
	if c.os.gso.Load() {
		t.Errorf("segmentation probed when the socket opened; want it at the first run to send")
	}
	if !c.os.gsoOn() || !c.os.gro || c.os.errq.rc == nil {
		var uts unix.Utsname
		_ = unix.Uname(&uts)
		t.Fatalf("UDP segmentation (%v), coalescing (%v) or error queue (%v) not enabled on Linux %s",
			c.os.gsoOn(), c.os.gro, c.os.errq.rc != nil, unix.ByteSliceToString(uts.Release[:]))
	}
	if caps := c.Caps(); !caps.UDP || !caps.Gather || !caps.Wake || !caps.DontFragment || caps.BlockingSend || caps.RecvBuffer == 0 {
		t.Errorf("caps %+v: want UDP, Gather, Wake, DontFragment, a receive buffer, and sends that do not block", caps)
	}
}
