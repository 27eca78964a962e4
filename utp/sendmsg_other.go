//go:build !linux

package utp

import (
	"net"
	"net/netip"
)

// vecSender is not available here: datagrams are copied into one buffer
// before they are sent.
type vecSender struct{}

func newVecSender(*net.UDPConn, *offload) *vecSender { return nil }

func (v *vecSender) send(*outBatch, int, int, int, netip.AddrPort) (bool, error) {
	return false, nil
}
