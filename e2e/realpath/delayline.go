//go:build linux

package realpath

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// openTUN creates a TUN device (raw IP packets, no packet-information
// header) in the calling thread's namespace and returns it as a pollable
// file, so that Close interrupts a blocked read.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// delayQueue bounds the packets held in the line: 64 Ki ACKs is 2.6 s of
// a 1 Gbit/s flow's ACKs (one per two 1,500-byte packets), far more than
// any RTT we run.
const delayQueue = 1 << 16

// A delayLine writes every packet read from a TUN device back into it
// after a fixed delay, in order. One goroutine reads, one writes; the
// channel between them is the line.
type delayLine struct {
	tun   *os.File
	line  chan delayed
	drops atomic.Int64
	late  lateCounter
	wg    sync.WaitGroup
}

type delayed struct {
	due time.Time
	b   []byte
}

// startDelayLine starts the two goroutines; close stops them.
func startDelayLine(tun *os.File, d time.Duration) *delayLine {
	l := &delayLine{tun: tun, line: make(chan delayed, delayQueue)}
	l.wg.Add(2)
	go l.read(d)
	go l.write()
	return l
}

// read timestamps each packet on arrival. It ends when the device is
// closed, and closes the line behind it.
func (l *delayLine) read(d time.Duration) {
	defer l.wg.Done()
	defer close(l.line)
	buf := make([]byte, 64<<10)
	for {
		n, err := l.tun.Read(buf)
		if err != nil {
			return
		}
		p := delayed{due: time.Now().Add(d), b: append([]byte(nil), buf[:n]...)}
		select {
		case l.line <- p:
		default:
			l.drops.Add(1)
		}
	}
}

// write sleeps until the oldest packet is due and writes it back, then
// every packet already due without sleeping again. A write error (the
// device closed) only drops the packet: read ends the line.
func (l *delayLine) write() {
	defer l.wg.Done()
	for p := range l.line {
		if w := time.Until(p.due); w > 0 {
			time.Sleep(w)
		}
		l.tun.Write(p.b)
		l.late.note(time.Since(p.due))
	}
}

func (l *delayLine) close() error {
	l.tun.Close()
	l.wg.Wait()
	return nil
}

// DelayStats is what the delay line did during a run: whether it kept
// time and, when it runs in a process of its own, the CPU time it used.
type DelayStats struct {
	Line LineStats
	CPU  time.Duration // 0 when the line runs in the flows' process
}

// A line is a running delay line, in this process (delayLine) or in a
// child (delayProc).
type line interface {
	// stats returns what the line did since the last call, and the
	// packets it dropped since it started.
	stats() (s DelayStats, drops int64, err error)
	close() error
}

func (l *delayLine) stats() (DelayStats, int64, error) {
	return DelayStats{Line: l.late.take()}, l.drops.Load(), nil
}
