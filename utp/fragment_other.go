//go:build !linux

package utp

import "net/netip"

// sendFragmentable has nothing to do here: without DF (setDontFragment)
// discovery is off, no packet is ever stranded, and every datagram may
// be fragmented anyway.
func (s *Socket) sendFragmentable(*outBatch, netip.AddrPort) {}
