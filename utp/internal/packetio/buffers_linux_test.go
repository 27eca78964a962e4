package packetio

import (
	"net"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBufferForceRefusedRemembered checks that once the kernel refuses
// SO_RCVBUFFORCE for want of CAP_NET_ADMIN, later sockets ask with
// SO_RCVBUF and SO_SNDBUF alone, and still get their buffers. Needs
// root, to take the capability from one thread (CI runs as root).
func TestBufferForceRefusedRemembered(t *testing.T) {
	requireRoot(t, "to drop CAP_NET_ADMIN from a thread")
	tries := 0
	testForceTry = func() { tries++ }
	t.Cleanup(func() {
		testForceTry = nil
		forceRefused.Store(false)
	})
	type result struct {
		buffers [2]int // receive buffers granted to two sockets
		tries   [2]int // FORCE attempts after each
		refused bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread, without the capability, exits
		// with the goroutine.
		runtime.LockOSThread()
		var r result
		if r.err = dropNetAdmin(); r.err != nil {
			done <- r
			return
		}
		for i := range r.buffers {
			u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				r.err = err
				break
			}
			c := New(u, Config{Buffer: 1 << 20})
			r.buffers[i], r.tries[i] = c.Caps().RecvBuffer, tries
			r.refused = r.refused || forceRefused.Load()
			c.Close()
		}
		done <- r
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.refused || r.tries != [2]int{1, 1} {
		t.Errorf("FORCE refused %v, attempts after each socket %v; want it refused once, at the first socket, and never tried again", r.refused, r.tries)
	}
	if r.buffers[0] <= 0 || r.buffers[1] != r.buffers[0] {
		t.Errorf("receive buffers granted %v; want the same, set with SO_RCVBUF", r.buffers)
	}
}

// dropNetAdmin takes CAP_NET_ADMIN from the calling thread's effective
// set.
func dropNetAdmin() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
	return unix.Capset(&hdr, &data[0])
}

// TestRaiseRecvBuffer checks that a UDP endpoint's RaiseRecvBuffer
// raises its open socket's receive buffer and reports what the kernel
// then reports, and that an endpoint that is not UDP cannot. Needs root, for
// SO_RCVBUFFORCE past net.core.rmem_max (CI runs as root).
func TestRaiseRecvBuffer(t *testing.T) {
	requireRoot(t, "to raise a buffer past net.core.rmem_max")
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := New(u, Config{Buffer: 1 << 20})
	defer c.Close()
	r, ok := c.(RecvBufferRaiser)
	if !ok {
		t.Fatal("a UDP endpoint is not a RecvBufferRaiser")
	}
	granted := r.RaiseRecvBuffer(4 << 20)
	rc, err := u.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	_ = rc.Control(func(fd uintptr) { got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
	if granted != got || got <= c.Caps().RecvBuffer {
		t.Errorf("raised to 4 MiB: reported %d, kernel %d, at open %d; want the kernel's, above the open's", granted, got, c.Caps().RecvBuffer)
	}
	if _, ok := New(struct{ net.PacketConn }{u}, Config{}).(RecvBufferRaiser); ok {
		t.Error("an endpoint over any PacketConn claims to raise a kernel buffer")
	}
}
