//go:build !linux

package utp

import "net"

// raiseUDPBuffers asks for n-byte kernel buffers; the OS may grant less.
// What it granted is not known here (0).
func raiseUDPBuffers(u *net.UDPConn, n int) (granted int) {
	_ = u.SetReadBuffer(n)
	_ = u.SetWriteBuffer(n)
	return 0
}
