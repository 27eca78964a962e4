//go:build !linux

package utp

import "net"

// raiseUDPBuffers asks for n-byte kernel buffers; the OS may grant less.
func raiseUDPBuffers(u *net.UDPConn, n int) {
	_ = u.SetReadBuffer(n)
	_ = u.SetWriteBuffer(n)
}
