package attack

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// spoofer writes UDP datagrams with any IPv4 source through a raw socket.
type spoofer struct {
	fd int
}

// newSpoofer opens the raw socket, or skips the test where raw sockets
// are refused: CI runs as root, where they never are.
func newSpoofer(t testing.TB) *spoofer {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		t.Skipf("raw IPv4 sockets are refused here (%v): forging sources needs root or CAP_NET_RAW", err)
	}
	if err != nil {
		t.Fatalf("raw socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return &spoofer{fd: fd}
}

// send writes payload from src to dst. With IPPROTO_RAW the kernel takes
// our IPv4 header as it is, filling in only the total length and the
// header checksum (raw(7)); the UDP checksum is left 0, which IPv4 allows
// (RFC 768: no checksum).
func (s *spoofer) send(src, dst netip.AddrPort, payload []byte) error {
	b := make([]byte, 28+len(payload))
	b[0] = 0x45 // IPv4, 5-word header
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64 // TTL
	b[9] = syscall.IPPROTO_UDP
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	binary.BigEndian.PutUint16(b[20:], src.Port())
	binary.BigEndian.PutUint16(b[22:], dst.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return syscall.Sendto(s.fd, b, 0, &syscall.SockaddrInet4{Addr: d4})
}

// victims are bound UDP sockets at forged source addresses: what our
// Socket sends to a forged source arrives there and is counted.
type victims struct {
	addrs []netip.AddrPort
	conns []*net.UDPConn
	bytes atomic.Int64 // received by all of them
	per   []atomic.Int64
	wg    sync.WaitGroup

	mu   sync.Mutex
	isns [][]uint16 // per victim, the seq_nr of each STATE it received (a reply to a forged SYN)
}

// victimAddr is the i-th forged source: 127.1.x.y, away from 127.0.0.1
// where the real peers are.
func victimAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 1, byte(i / 250), byte(i%250 + 1)})
}

func newVictims(t testing.TB, n int) *victims {
	t.Helper()
	v := &victims{per: make([]atomic.Int64, n), isns: make([][]uint16, n)}
	for i := range n {
		pc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(victimAddr(i), 0)))
		if err != nil {
			v.close()
			t.Fatalf("binding forged source %d: %v", i, err)
		}
		v.conns = append(v.conns, pc)
		v.addrs = append(v.addrs, pc.LocalAddr().(*net.UDPAddr).AddrPort())
		v.wg.Add(1)
		go v.count(i, pc)
	}
	t.Cleanup(v.close)
	return v
}

func (v *victims) count(i int, pc *net.UDPConn) {
	defer v.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := pc.Read(buf)
		if err != nil {
			return
		}
		v.bytes.Add(int64(n))
		v.per[i].Add(int64(n))
		if n >= 20 && int(buf[0]>>4) == stState {
			v.mu.Lock()
			v.isns[i] = append(v.isns[i], binary.BigEndian.Uint16(buf[16:]))
			v.mu.Unlock()
		}
	}
}

// replies is how many STATE replies the victims recorded.
func (v *victims) replies() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, r := range v.isns {
		n += len(r)
	}
	return n
}

// guessed reports whether ack, forged in victim i's name, acknowledges a
// reply victim i received: a blind guess that proves the forged source,
// as it does with probability 2 in 65,536 (the acceptor takes its
// initial sequence number or the one before it).
func (v *victims) guessed(i int, ack uint16) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, isn := range v.isns[i] {
		if ack == isn || ack == isn-1 {
			return true
		}
	}
	return false
}

// settle gives datagrams in flight to the victims time to arrive.
func (v *victims) settle() { time.Sleep(100 * time.Millisecond) }

func (v *victims) close() {
	for _, pc := range v.conns {
		pc.Close()
	}
	v.wg.Wait()
}
