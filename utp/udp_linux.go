package utp

import (
	"net"
	"syscall"
)

// raiseUDPBuffers asks for n-byte kernel buffers and returns the receive
// buffer granted (0 if unknown). SO_RCVBUF is capped by
// net.core.rmem_max (208 KiB by default); SO_RCVBUFFORCE passes the cap
// when the process has CAP_NET_ADMIN, so it is tried first.
func raiseUDPBuffers(u *net.UDPConn, n int) (granted int) {
	rc, err := u.SyscallConn()
	if err != nil {
		return 0
	}
	_ = rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, n) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, n)
		}
		granted, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return granted
}
