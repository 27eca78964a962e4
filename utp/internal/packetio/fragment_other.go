//go:build !linux

package packetio

import "net/netip"

// sendFragmentable sends one[0] as any other datagram: without DF
// (setDontFragment) discovery is off here, no packet is ever stranded,
// and every datagram may be fragmented anyway.
func (c *udp) sendFragmentable(one []Datagram, to netip.AddrPort, r *SendResult) {
	c.sendDF(Addr{AP: to}, one, r)
}
