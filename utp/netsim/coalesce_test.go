package netsim

import (
	"encoding/binary"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// ReadCoalesced joins queued datagrams of one sender as Linux GRO does:
// equal lengths, ended by a shorter one, another sender, a longer one,
// the buffer's room, or MaxCoalesced; every datagram arrives once, in
// order.
func TestReadCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{Delay: time.Millisecond})
		a, b, c := n.Listen("a"), n.Listen("b"), n.Listen("c")
		defer a.Close()
		defer b.Close()
		defer c.Close()
		seq := uint32(0)
		send := func(from *PacketConn, sizes ...int) {
			for _, s := range sizes {
				from.WriteTo(packet(seq, s), Addr("c"))
				seq++
			}
			time.Sleep(time.Microsecond) // groups arrive in the order sent
		}
		send(a, 100, 100, 100, 40, 100) // a run ended by a shorter one
		send(b, 100)                    // another sender
		send(b, 50, 200)                // a longer one ends a run
		send(a, slices.Repeat([]int{10}, MaxCoalesced+2)...)
		send(a, 300, 300, 300) // more than the buffer holds
		time.Sleep(time.Millisecond)

		type read struct {
			n, seg int
			from   Addr
			seqs   []uint32
		}
		want := []read{
			{340, 100, "a", []uint32{0, 1, 2, 3}},
			{100, 0, "a", []uint32{4}},
			{150, 100, "b", []uint32{5, 6}},
			{200, 0, "b", []uint32{7}},
			{10 * MaxCoalesced, 10, "a", nil},
			{20, 10, "a", nil},
			{600, 300, "a", []uint32{74, 75}},
			{300, 0, "a", []uint32{76}},
		}
		buf := make([]byte, 700)
		for i, w := range want {
			n, seg, from, err := c.ReadCoalesced(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n != w.n || seg != w.seg || from != w.from {
				t.Fatalf("read %d: %d bytes in segments of %d from %v; want %d, %d, %v", i, n, seg, from, w.n, w.seg, w.from)
			}
			step := seg
			if seg == 0 {
				step = n
			}
			for k, s := range w.seqs {
				if got := binary.BigEndian.Uint32(buf[k*step:]); got != s {
					t.Fatalf("read %d: datagram %d is packet %d, want %d", i, k, got, s)
				}
			}
		}
	})
}

// WithoutCoalescing: a run that ReadCoalesced would join comes back one
// datagram a read, in order.
func TestReadCoalescedWithoutCoalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		n.SetDefaultLink(LinkConfig{Delay: time.Millisecond})
		a, c := n.Listen("a"), n.Listen("c", WithoutCoalescing())
		defer a.Close()
		defer c.Close()
		for i := range 3 {
			a.WriteTo(packet(uint32(i), 100), Addr("c"))
		}
		time.Sleep(2 * time.Millisecond)
		buf := make([]byte, 700)
		for i := range 3 {
			n, seg, from, err := c.ReadCoalesced(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n != 100 || seg != 0 || from != Addr("a") || binary.BigEndian.Uint32(buf) != uint32(i) {
				t.Fatalf("read %d: %d bytes in segments of %d from %v, packet %d; want packet %d alone", i, n, seg, from, binary.BigEndian.Uint32(buf), i)
			}
		}
	})
}
