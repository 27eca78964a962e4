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
// Segmentation, with the send buffer, is probed when first needed, and
// coalescing asked for after groAfter datagrams read, not at open.
func TestUDPOffloadEnabled(t *testing.T) {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := New(u, Config{Buffer: 1 << 20}).(*udp)
	defer c.Close()
	if c.os.gso.Load() || c.os.gro {
		t.Errorf("segmentation probed (%v) or coalescing set (%v) when the socket opened; want them at their first need", c.os.gso.Load(), c.os.gro)
	}
	sndBuf := func() int {
		var n int
		_ = c.os.rc.Control(func(fd uintptr) { n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF) })
		return n
	}
	before := sndBuf()
	if !c.os.gsoOn() || c.os.errq.rc == nil {
		t.Fatalf("UDP segmentation (%v) or error queue (%v) not enabled on %s", c.os.gsoOn(), c.os.errq.rc != nil, kernelRelease())
	}
	if after := sndBuf(); after <= before {
		t.Errorf("send buffer %d bytes before the first run, %d after; want it raised", before, after)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	buf := make([]byte, MaxDatagram)
	for i := range groAfter {
		if c.os.gro {
			t.Fatalf("coalescing set after %d datagrams read, want it at %d", i, groAfter)
		}
		if _, err := peer.WriteTo([]byte{byte(i)}, u.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if !c.os.gro {
		t.Fatalf("UDP coalescing not enabled after %d datagrams read on %s", groAfter, kernelRelease())
	}
	if caps := c.Caps(); !caps.UDP || !caps.Gather || !caps.Wake || !caps.DontFragment || caps.BlockingSend || caps.RecvBuffer == 0 {
		t.Errorf("caps %+v: want UDP, Gather, Wake, DontFragment, a receive buffer, and sends that do not block", caps)
	}
}

func kernelRelease() string {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	return "Linux " + unix.ByteSliceToString(uts.Release[:])
}

// The receive buffer a socket reports is the kernel's, whether it was
// read back (SO_RCVBUF, capped) or known from what SO_RCVBUFFORCE grants
// (twice the size asked) without asking. Sizes around the smallest that
// is doubled as such, and a large one.
func TestRecvBufferGranted(t *testing.T) {
	for _, n := range []int{1, minForcedBuffer - 1, minForcedBuffer, 1 << 20, 8 << 20} {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		c := New(u, Config{Buffer: n}).(*udp)
		var kernel int
		_ = c.os.rc.Control(func(fd uintptr) { kernel, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
		if got := c.Caps().RecvBuffer; got != kernel {
			t.Errorf("asked for %d bytes: reported %d, the kernel has %d (FORCE refused: %v)", n, got, kernel, forceRefused.Load())
		}
		c.Close()
	}
}
