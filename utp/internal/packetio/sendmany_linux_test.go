package packetio

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// Datagrams that each go alone (here each longer than the one before,
// so no segmented run can join them) leave with one sendmmsg, counted
// as one Batched call, gathered from their head and tail buffers, and
// arrive whole and in order; more than maxMany take more calls.
func TestSendManyAlone(t *testing.T) {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c := New(u, Config{})
	defer c.Close()
	if !c.(*udp).os.gathers() {
		t.Fatal("the UDP endpoint does not gather on Linux")
	}
	for _, count := range []int{4, maxMany + 3} {
		var ds []Datagram
		var want [][]byte
		total := 0
		for i := range count {
			head := bytes.Repeat([]byte{byte('a' + i)}, 20)
			tail := bytes.Repeat([]byte{byte('A' + i)}, 100*(i+1))
			ds = append(ds, Datagram{Head: head, Tail: [2][]byte{tail}})
			want = append(want, append(append([]byte(nil), head...), tail...))
			total += len(head) + len(tail)
		}
		r := c.Send(udpAddrOf(peer.LocalAddr()), ds)
		wantCalls := (count + maxMany - 1) / maxMany
		if r.Datagrams != count || r.Bytes != total || r.Errors != 0 || r.Segmented != 0 || r.Batched != wantCalls {
			t.Fatalf("%d datagrams: Send = %+v; want %d datagrams, %d bytes, %d calls of several", count, r, count, total, wantCalls)
		}
		buf := make([]byte, MaxDatagram)
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := range count {
			n, err := peer.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], want[i]) {
				t.Fatalf("%d datagrams: datagram %d arrived as %d bytes (%v), want %d of its own", count, i, n, err, len(want[i]))
			}
		}
	}
}

// udpAddrOf is a UDP address as the UDP endpoint reads it.
func udpAddrOf(a net.Addr) Addr { return Addr{AP: a.(*net.UDPAddr).AddrPort()} }
