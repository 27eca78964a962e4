//go:build !linux

package utp

import (
	"net"
	"net/netip"
)

// setDontFragment is not known here: path MTU discovery stays off, since
// a probe that a router fragments would pass and mislead it.
func setDontFragment(*net.UDPConn) bool { return false }

// routeMTU is not known here.
func routeMTU(netip.Addr) int { return 0 }

// isMsgSize is never reported here.
func isMsgSize(error) bool { return false }
