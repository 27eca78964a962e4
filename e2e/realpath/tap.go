//go:build linux

package realpath

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Taps watch the order in which uTP packets pass points of the path. A
// tap is a packet socket (packet(7)) bound to one device in one
// namespace, reading through a memory-mapped ring (PACKET_RX_RING,
// TPACKET_V2), so that it costs the kernel a 64-byte copy per packet and
// the test process no system call per packet. It sees a device's packets
// in the order the kernel handed them to the device (outgoing) or took
// them from it (incoming); the order of a packet socket's ring is that
// order, since the kernel fills it under one lock.
//
// Order is judged by the sender's clock: every uTP packet carries the
// microseconds at which it was sent (timestamp_microseconds, BEP 29), a
// retransmission its own. A packet is late at a tap when a packet of the
// same flow sent after it has already passed there.

// tapSnap is how much of each packet a tap keeps: an IPv4 header without
// options (20 bytes), UDP's (8) and uTP's fixed header (20), rounded up.
const tapSnap = 64

// The ring: frames of tapFrame bytes (the frame header, the link-layer
// address and tapSnap bytes fit), in blocks of tapBlock bytes. 64 Ki
// frames hold 0.7 s of a 1 Gbit/s flow's packets at 1,500 bytes, should
// the reader stall; the ring is 16 MiB.
const (
	tapFrame  = 256
	tapBlock  = 128 << 10
	tapFrames = 64 << 10
)

// tapBatch bounds the frames the reader handles per hold of its lock.
const tapBatch = 4096

// tapPoll is how long the reader waits for a frame before it checks
// whether it should stop.
const tapPoll = 50 // milliseconds

// Types of uTP packets (BEP 29) the taps tell apart.
const (
	utpData  = 0
	utpState = 2
)

// A tap reads one device's ring.
type tap struct {
	point string // where: namespace role and device
	fd    int
	ring  []byte
	stop  atomic.Bool
	wg    sync.WaitGroup

	mu    sync.Mutex // guards flows; the reader holds it per batch of frames
	flows map[flowKey]*orderState
}

// flowKey names one direction of one flow at a tap: the UDP ports, the
// direction through the device, and the uTP packet type.
type flowKey struct {
	src, dst uint16
	out      bool
	typ      uint8
}

// startTap opens a tap on device dev of namespace ns, named point.
func startTap(ns, dev, point string) (*tap, error) {
	t := &tap{point: point, fd: -1, flows: make(map[flowKey]*orderState)}
	err := InNamespace(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		return t.open(ifi.Index)
	})
	if err != nil {
		t.closeFD()
		return nil, fmt.Errorf("tap %s: %w", point, err)
	}
	t.wg.Add(1)
	go t.read()
	return t, nil
}

// open makes the packet socket, keeps only UDP (and of it tapSnap bytes)
// with a classic BPF filter, maps the ring and binds to the device.
func (t *tap) open(ifindex int) error {
	// ETH_P_ALL, not ETH_P_IP: only sockets of every protocol see the
	// packets a device sends (dev_queue_xmit_nit); the filter keeps IPv4.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return err
	}
	t.fd = fd
	filter := []unix.SockFilter{
		{Code: 0x28, K: skfAdProtocol},               // ldh the packet's EtherType
		{Code: 0x15, Jt: 0, Jf: 3, K: unix.ETH_P_IP}, // jeq IPv4
		{Code: 0x30, K: 9},                           // ldb [9]: IPv4 protocol
		{Code: 0x15, Jt: 0, Jf: 1, K: 17},            // jeq UDP
		{Code: 0x06, K: tapSnap},                     // ret: keep tapSnap bytes
		{Code: 0x06, K: 0},                           // ret: drop
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("TPACKET_V2: %w", err)
	}
	req := unix.TpacketReq{Block_size: tapBlock, Block_nr: tapFrames * tapFrame / tapBlock, Frame_size: tapFrame, Frame_nr: tapFrames}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("PACKET_RX_RING: %w", err)
	}
	if t.ring, err = unix.Mmap(fd, 0, tapFrames*tapFrame, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex})
}

// skfAdProtocol is classic BPF's ancillary load of skb->protocol
// (SKF_AD_OFF + SKF_AD_PROTOCOL, linux/filter.h).
const skfAdProtocol = 0xfffff000

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// read walks the ring until stop, handing each frame to note and the
// frame back to the kernel.
func (t *tap) read() {
	defer t.wg.Done()
	fds := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
	for i := 0; !t.stop.Load(); {
		hdr := (*unix.Tpacket2Hdr)(unsafe.Pointer(&t.ring[i*tapFrame]))
		if atomic.LoadUint32(&hdr.Status)&unix.TP_STATUS_USER == 0 {
			unix.Poll(fds, tapPoll)
			continue
		}
		t.mu.Lock()
		// A bounded batch per lock, so that take is not kept waiting
		// while the kernel fills the ring as fast as it is read.
		for k := 0; k < tapBatch && atomic.LoadUint32(&hdr.Status)&unix.TP_STATUS_USER != 0; k++ {
			frame := t.ring[i*tapFrame : (i+1)*tapFrame]
			pkttype := frame[unix.SizeofTpacket2Hdr+10] // sockaddr_ll.sll_pkttype follows the aligned header
			if off, end := int(hdr.Net), min(int(hdr.Net)+int(hdr.Snaplen), tapFrame); off < end {
				t.note(frame[off:end], pkttype == unix.PACKET_OUTGOING)
			}
			atomic.StoreUint32(&hdr.Status, unix.TP_STATUS_KERNEL)
			i = (i + 1) % tapFrames
			hdr = (*unix.Tpacket2Hdr)(unsafe.Pointer(&t.ring[i*tapFrame]))
		}
		t.mu.Unlock()
	}
}

// note parses an IPv4 packet's UDP and uTP headers and records the
// packet in its flow's order. Anything else (the probes, short or
// fragmented packets) is ignored. t.mu is held.
func (t *tap) note(ip []byte, out bool) {
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return
	}
	ihl := int(ip[0]&0xf) * 4
	if binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 || len(ip) < ihl+8+20 {
		return
	}
	udp, utp := ip[ihl:], ip[ihl+8:]
	typ, ver := utp[0]>>4, utp[0]&0xf
	if ver != 1 || (typ != utpData && typ != utpState) {
		return
	}
	k := flowKey{src: binary.BigEndian.Uint16(udp[0:2]), dst: binary.BigEndian.Uint16(udp[2:4]), out: out, typ: typ}
	o := t.flows[k]
	if o == nil {
		o = new(orderState)
		t.flows[k] = o
	}
	o.add(binary.BigEndian.Uint32(utp[4:8]))
}

// take returns what the tap counted since the last take, per direction
// and packet type, summed over flows, and the packets its ring lost.
func (t *tap) take() (TapStats, error) {
	s := TapStats{Point: t.point}
	st, err := unix.GetsockoptTpacketStats(t.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS) // resets the kernel's counts
	if err != nil {
		return s, fmt.Errorf("tap %s: %w", t.point, err)
	}
	s.Dropped = int64(st.Drops)
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, o := range t.flows {
		r := o.take()
		switch {
		case k.typ == utpData && k.out:
			s.DataOut = s.DataOut.merge(r)
		case k.typ == utpData:
			s.DataIn = s.DataIn.merge(r)
		case k.out:
			s.AcksOut = s.AcksOut.merge(r)
		default:
			s.AcksIn = s.AcksIn.merge(r)
		}
	}
	return s, nil
}

// close stops the reader and releases the socket and its ring.
func (t *tap) close() {
	t.stop.Store(true)
	t.wg.Wait()
	t.closeFD()
}

func (t *tap) closeFD() {
	if t.ring != nil {
		unix.Munmap(t.ring)
		t.ring = nil
	}
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
}
