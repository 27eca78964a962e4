package packetio

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// vecSender sends one datagram, or a run of them to be segmented
// (UDP_SEGMENT), gathered from several buffers with one sendmsg: each
// packet's header from its pooled buffer and its payload from the
// connection's send buffer, which is then never copied in user space.
// The net package has no gather write, so this makes the system call
// itself, through the socket's RawConn, which waits in the network
// poller while the socket buffer is full.
type vecSender struct {
	rc    syscall.RawConn
	inet6 bool         // the socket is AF_INET6 (IPv4 peers are sent as v4-mapped)
	gso   *atomic.Bool // cleared when the kernel refuses segmentation
	// kept is the scratch of the last send, kept for the next (scratch,
	// done): nil while a send uses it, or once the socket is closed.
	kept atomic.Pointer[vecScratch]
}

// vecPool holds vecScratch values for every vecSender of the process
// (as scratchPool does buffers): a pool per socket allocated a 3.6 KB
// scratch, and the pool's own slots, for the first send of each.
var vecPool = sync.Pool{New: func() any {
	sc := new(vecScratch)
	sc.fn, sc.fnMany, sc.fnTo = sc.sendmsg, sc.sendmmsg, sc.sendto
	return sc
}}

// vecScratch is the memory of one sendmsg or sendto: iovecs, address,
// control message, a small datagram's bytes. Pooled, so that a send
// allocates nothing. What every send touches comes first, in two cache
// lines (a small datagram's sendto touches no more); then the iovecs of
// a gathered send, the control message only a segmented send's, the
// messages only a sendmmsg's, and the small datagram's copy.
type vecScratch struct {
	msg  unix.Msghdr
	sa4  unix.RawSockaddrInet4
	err  error
	fn   func(fd uintptr) bool // sc.sendmsg, bound once
	out  []byte                // sendto's datagram: a Head alone, or flat
	fnTo func(fd uintptr) bool // sc.sendto, bound once
	iov  [3 * maxSegments]unix.Iovec
	sa6  unix.RawSockaddrInet6
	oob  [oobSize]byte
	// mm, many and sent are one sendmmsg's: its messages, how many of
	// them to send, and how many the kernel took (sendMany).
	mm     [maxMany]mmsghdr
	many   int
	sent   int
	fnMany func(fd uintptr) bool // sc.sendmmsg, bound once
	flat   [flatMax]byte         // a small datagram with a tail, joined for sendto
}

// flatMax bounds the datagrams with a tail (a header, its payload in the
// send buffer) that send joins into one buffer for sendto rather than
// gathering them with sendmsg: below it the copy costs less than the
// kernel's reading of a msghdr and its iovecs (sendLone).
const flatMax = 256

// scratch returns the sender's kept scratch, or one from the pool while
// another send uses it. A send that takes the pool's each time reaches,
// as the goroutines that send move between processors (a ping-pong's do
// at almost every round trip), into another processor's pool slots and
// a scratch last written on another core; the kept one is the one the
// last send on this socket wrote.
func (v *vecSender) scratch() *vecScratch {
	if sc := v.kept.Swap(nil); sc != nil {
		return sc
	}
	return vecPool.Get().(*vecScratch)
}

// done takes back a scratch from a send: kept if the sender keeps none,
// else pooled.
func (v *vecSender) done(sc *vecScratch) {
	if !v.kept.CompareAndSwap(nil, sc) {
		vecPool.Put(sc)
	}
}

// release, at the socket's close, gives the kept scratch to the pool, for
// the process's next socket. One that a send still in progress keeps
// after is collected with the sender.
func (v *vecSender) release() {
	if sc := v.kept.Swap(nil); sc != nil {
		vecPool.Put(sc)
	}
}

// mmsghdr is the kernel's struct mmsghdr (sendmmsg's array element): a
// msghdr and the bytes sent for it, padded as the C struct is.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// maxMany bounds the datagrams of one sendmmsg (sendMany).
const maxMany = 16

// newVecSender returns a sender for the socket of rc, whose address
// family is domain, or nil if that could not be read (-1).
func newVecSender(rc syscall.RawConn, gso *atomic.Bool, domain int) *vecSender {
	if domain < 0 {
		return nil
	}
	return &vecSender{rc: rc, inet6: domain == unix.AF_INET6, gso: gso}
}

// send sends run to to: as one datagram when seg is 0 (and run has one),
// else as a run the kernel segments every seg bytes. It reports false,
// having sent nothing, when it cannot: an address it does not build (a
// zone), or segmentation the kernel refuses.
func (v *vecSender) send(run []Datagram, seg int, to netip.AddrPort) (sent bool, err error) {
	addr := to.Addr()
	if addr.Zone() != "" || (!v.inet6 && !addr.Is4()) {
		return false, nil
	}
	sc := v.scratch()
	defer v.done(sc)
	if seg == 0 && len(run) == 1 && len(run[0].Head) > 0 && (!run[0].hasTail() || run[0].Len() <= flatMax) {
		return true, v.sendLone(sc, &run[0], to)
	}
	k := 0
	for x := range run {
		d := &run[x]
		for _, b := range [3][]byte{d.Head, d.Tail[0], d.Tail[1]} {
			if len(b) > 0 {
				sc.iov[k].Base = &b[0]
				sc.iov[k].SetLen(len(b))
				k++
			}
		}
	}
	sc.msg = unix.Msghdr{}
	v.address(sc, to)
	sc.msg.Iov = &sc.iov[0]
	sc.msg.SetIovlen(k)
	if seg > 0 {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&sc.oob[0]))
		h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
		h.SetLen(unix.CmsgLen(2))
		*(*uint16)(unsafe.Pointer(&sc.oob[cmsgHeaderLen])) = uint16(seg)
		sc.msg.Control = &sc.oob[0]
		sc.msg.SetControllen(unix.CmsgSpace(2))
	}
	err = v.rc.Write(sc.fn)
	clear(sc.iov[:k]) // keep no buffer alive from the pool
	sc.msg = unix.Msghdr{}
	if err == nil {
		err = sc.err
	}
	if seg > 0 && err != nil && (errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL)) {
		// A device without checksum offload refuses segmentation.
		v.gso.Store(false)
		return false, nil
	}
	return true, err
}

// sendMany sends ds, each a datagram of its own, to to with as few
// sendmmsg calls as maxMany allows, each message gathered as send
// gathers one: on loopback, whose 64 KiB datagrams cannot be segmented
// together (UDP_SEGMENT carries at most 64 KiB in all), a step's
// datagrams then cost one system call instead of one each. It returns
// how many of ds, from the first, were sent, their bytes, and the calls
// that sent more than one; it stops
// at the first the kernel did not take (sendmmsg reports no error once
// one has gone), for the caller to send that one alone and learn why.
func (v *vecSender) sendMany(ds []Datagram, to netip.AddrPort) (n, bytes, several int) {
	addr := to.Addr()
	if addr.Zone() != "" || (!v.inet6 && !addr.Is4()) {
		return 0, 0, 0
	}
	sc := v.scratch()
	defer v.done(sc)
	sc.msg = unix.Msghdr{}
	v.address(sc, to)
	for len(ds) > 0 {
		m, k := sc.gatherMany(ds)
		err := v.rc.Write(sc.fnMany)
		clear(sc.iov[:k]) // keep no buffer alive from the pool
		clear(sc.mm[:m])
		if err != nil || sc.err != nil || sc.sent <= 0 {
			break
		}
		for x := range sc.sent {
			bytes += ds[x].Len()
		}
		n += sc.sent
		if sc.sent > 1 {
			several++
		}
		if sc.sent < m {
			break
		}
		ds = ds[m:]
	}
	sc.msg = unix.Msghdr{}
	return n, bytes, several
}

// gatherMany points sc.mm at up to maxMany of ds, each message at its
// datagram's buffers and at the address in sc.msg, and returns how many
// messages and iovecs it set.
func (sc *vecScratch) gatherMany(ds []Datagram) (m, k int) {
	m = min(len(ds), maxMany)
	for x := range m {
		d, first := &ds[x], k
		for _, b := range [3][]byte{d.Head, d.Tail[0], d.Tail[1]} {
			if len(b) > 0 {
				sc.iov[k].Base = &b[0]
				sc.iov[k].SetLen(len(b))
				k++
			}
		}
		sc.mm[x] = mmsghdr{hdr: unix.Msghdr{Name: sc.msg.Name, Namelen: sc.msg.Namelen, Iov: &sc.iov[first]}}
		sc.mm[x].hdr.SetIovlen(k - first)
	}
	sc.many = m
	return m, k
}

// sendmmsg is the RawConn.Write callback of sendMany, a raw system call
// (rawSyscall): false asks the poller to wait until the socket is
// writable (nothing was sent).
func (sc *vecScratch) sendmmsg(fd uintptr) bool {
	r, done, err := rawSyscall(unix.SYS_SENDMMSG, fd, unsafe.Pointer(&sc.mm[0]), uintptr(sc.many), 0, nil, 0)
	if done {
		sc.sent, sc.err = int(r), err
	}
	return done
}

// sendLone sends d, a datagram that goes alone, from one buffer with
// sendto: its Head, or Head and tail joined in sc.flat. sendmsg would
// have the kernel copy in and check a msghdr and an iovec array besides
// the address, which for a ping-pong's datagram (a header and a byte)
// costs more than the copy: it was most of the system call's time above
// the UDP stack (docs/performance.md).
func (v *vecSender) sendLone(sc *vecScratch, d *Datagram, to netip.AddrPort) error {
	sc.msg = unix.Msghdr{}
	v.address(sc, to)
	sc.out = d.flatten(sc.flat[:])
	err := v.rc.Write(sc.fnTo)
	sc.out = nil // keep no buffer alive from the pool
	sc.msg = unix.Msghdr{}
	if err == nil {
		err = sc.err
	}
	return err
}

// sendto is the RawConn.Write callback of sendLone, a raw system call
// (rawSyscall) to the address in sc.msg: false asks the poller to wait
// until the socket is writable (nothing was sent).
func (sc *vecScratch) sendto(fd uintptr) bool {
	var done bool
	_, done, sc.err = rawSyscall(unix.SYS_SENDTO, fd, unsafe.Pointer(&sc.out[0]), uintptr(len(sc.out)), 0,
		unsafe.Pointer(sc.msg.Name), uintptr(sc.msg.Namelen))
	return done
}

// address writes to as the socket's family of sockaddr.
func (v *vecSender) address(sc *vecScratch, to netip.AddrPort) {
	port := to.Port()
	if !v.inet6 {
		sc.sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: to.Addr().As4()}
		p := (*[2]byte)(unsafe.Pointer(&sc.sa4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sc.msg.Name = (*byte)(unsafe.Pointer(&sc.sa4))
		sc.msg.Namelen = unix.SizeofSockaddrInet4
		return
	}
	sc.sa6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: to.Addr().As16()}
	p := (*[2]byte)(unsafe.Pointer(&sc.sa6.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	sc.msg.Name = (*byte)(unsafe.Pointer(&sc.sa6))
	sc.msg.Namelen = unix.SizeofSockaddrInet6
}

// sendmsg is the RawConn.Write callback: false asks the poller to wait
// until the socket is writable.
func (sc *vecScratch) sendmsg(fd uintptr) bool {
	var done bool
	_, done, sc.err = msgSyscall(unix.SYS_SENDMSG, fd, &sc.msg)
	return done
}

// msgSyscall makes the system call trap (sendmsg or recvmsg) with msg on
// fd, for a RawConn callback, as rawSyscall does.
func msgSyscall(trap, fd uintptr, msg *unix.Msghdr) (n int, done bool, err error) {
	r, done, err := rawSyscall(trap, fd, unsafe.Pointer(msg), 0, 0, nil, 0)
	return int(r), done, err
}

// rawSyscall makes the system call trap on socket fd for a RawConn
// callback, again when interrupted: done is false when the socket would
// block, so that the poller waits; else r and err are the call's result.
// Its arguments after fd are the call's, the second and fifth passed as
// pointers, so that what they point to stays alive through the call.
//
// It is a raw system call, which does not tell the Go scheduler that the
// goroutine enters the kernel: the socket is non-blocking (the net
// package makes every socket so, and RawConn's callbacks rely on
// EAGAIN), so the call never waits, only works. Announced, a segmented
// send on a veth pair, which carries the receiver's kernel work and
// takes tens of microseconds, outlasted the scheduler's monitor's 20 µs
// tick: it kept the monitor waking every 20 µs and handed the
// goroutine's processor to another thread, and the process made about
// twice the nanosleep and futex calls; the CPU per GB of a veth bulk
// transfer fell by about a fifth without it (docs/performance.md).
func rawSyscall(trap, fd uintptr, p unsafe.Pointer, a3, a4 uintptr, q unsafe.Pointer, a6 uintptr) (r uintptr, done bool, err error) {
	for {
		r, _, e := unix.RawSyscall6(trap, fd, uintptr(p), a3, a4, uintptr(q), a6)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, false, nil
		case 0:
			return r, true, nil
		}
		return 0, true, e
	}
}
