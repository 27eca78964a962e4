//go:build !linux

package utp

import (
	"net"
	"net/netip"
)

// offload is a no-op where UDP segmentation and coalescing are not
// known: every datagram is one system call.
type offload struct{}

const (
	maxSegments       = 1
	maxSegmentedBytes = 0
)

func (o *offload) enable(*net.UDPConn) {}
func (o *offload) gsoOn() bool         { return false }

func (o *offload) writeSegmented(*net.UDPConn, []byte, int, netip.AddrPort) (bool, error) {
	return false, nil
}

func (o *offload) read(u *net.UDPConn, buf []byte) (n, seg int, from netip.AddrPort, err error) {
	n, from, err = u.ReadFromUDPAddrPort(buf)
	return n, 0, from, err
}
