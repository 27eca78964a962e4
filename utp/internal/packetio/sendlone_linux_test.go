package packetio

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

// TestSendLoneSmallDatagrams checks that datagrams sent alone arrive
// whole and in order on IPv4 and IPv6 sockets, whether they go by sendto
// (a Head alone, or Head and tail joined: up to flatMax) or gathered by
// sendmsg (a longer one with a tail), with the tail in one buffer or two.
func TestSendLoneSmallDatagrams(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			loop := "127.0.0.1"
			if network == "udp6" {
				loop = "::1"
			}
			u, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(loop)})
			if err != nil {
				t.Fatal(err)
			}
			c := New(u, Config{}).(*udp)
			defer c.Close()
			if c.os.vec == nil {
				t.Fatal("no gathered sends on a Linux UDP socket")
			}
			peer, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(loop)})
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			to := Addr{AP: netip.MustParseAddrPort(peer.LocalAddr().String())}
			for _, size := range []int{20, 21, flatMax - 1, flatMax, flatMax + 1, 4000} {
				body := make([]byte, size)
				for i := range body {
					body[i] = byte(i*7 + size)
				}
				head := body[:min(20, size)]
				for _, d := range []Datagram{
					{Head: body},
					{Head: head, Tail: [2][]byte{body[len(head):]}},
					{Head: head, Tail: [2][]byte{body[len(head) : len(head)+(size-len(head))/2], body[len(head)+(size-len(head))/2:]}},
				} {
					if r := c.Send(to, []Datagram{d}); r.Datagrams != 1 || r.Bytes != size || r.Errors != 0 {
						t.Fatalf("size %d: Send %+v", size, r)
					}
					buf := make([]byte, 8192)
					n, _, err := peer.ReadFromUDPAddrPort(buf)
					if err != nil || !bytes.Equal(buf[:n], body) {
						t.Fatalf("size %d: peer read %d bytes (%v), not the %d sent", size, n, err, size)
					}
				}
			}
		})
	}
}
