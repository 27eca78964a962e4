package utp

import (
	"io"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// Small writes at default options (proto's nagle.go), on a netsim path
// of 10 ms each way, in virtual time.

// simLinkDelay is simNet's delay each way.
const simLinkDelay = 10 * time.Millisecond

// A message written in two Writes and then answered in two Writes costs
// one round trip, exactly two link delays, whether the writer reads the
// answer itself or another goroutine already waits to read it: neither
// side's second part waits for the peer's delayed ACK (AckDelay, 10 ms)
// of its first.
func TestSimTwoWriteExchange(t *testing.T) {
	withReaderWaiting(t, testTwoWriteExchange)
}

// withReaderWaiting runs test in a synctest bubble twice: with the
// writer alone (concurrent false), and with another goroutine reading
// the same connection throughout.
func withReaderWaiting(t *testing.T, test func(t *testing.T, concurrent bool)) {
	for _, concurrent := range []bool{false, true} {
		name := "writer-alone"
		if concurrent {
			name = "reader-waits"
		}
		t.Run(name, func(t *testing.T) {
			checkLeaks(t)
			synctest.Test(t, func(t *testing.T) { test(t, concurrent) })
		})
	}
}

func testTwoWriteExchange(t *testing.T, concurrent bool) {
	_, a, b := simNet(t)
	go simServe(b, func(c *Conn) { serveTwoWrites(c) })
	c := simDial(t, a, b)
	defer c.Close()
	replies := make(chan error, 1)
	readReply := func() error {
		_, err := io.ReadFull(c, make([]byte, 20))
		return err
	}
	if concurrent {
		go func() {
			for {
				err := readReply()
				replies <- err
				if err != nil {
					return
				}
			}
		}()
	}
	const linkDelay = 10 * time.Millisecond
	for i := range 10 {
		synctest.Wait() // a concurrent reader is waiting
		start := time.Now()
		if err := twoWrites(c, make([]byte, 20), 10); err != nil {
			t.Fatal(err)
		}
		var err error
		if concurrent {
			err = <-replies
		} else {
			err = readReply()
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); i > 0 && d != 2*linkDelay {
			t.Fatalf("exchange %d took %v, want %v (two link delays)", i, d, 2*linkDelay)
		}
	}
}

// A stream of small Writes still coalesces into full packets, also while
// another goroutine waits to read: 64 KiB in Writes of 1 to 64 bytes
// (about 2,000 of them) leaves in at most one datagram per 30 Writes
// (49 here; 101 when every Write while a Read waits is pushed).
func TestSimSmallWritesCoalesce(t *testing.T) {
	withReaderWaiting(t, testSmallWritesCoalesce)
}

func testSmallWritesCoalesce(t *testing.T, concurrent bool) {
	smallWritesCoalesce(t, concurrent, 0)
}

// A writer that pauses between its small Writes, for less than the push
// delay each time, is still a stream: its tails wait for ACKs and
// coalesce as before (proto's nagle.go). (With a Read waiting meanwhile,
// PushBehindOne sends about twice the datagrams, 99 here; with pauses
// longer than the push delay every Write leaves alone, as with NoDelay.)
func TestSimPausedSmallWritesCoalesce(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		smallWritesCoalesce(t, false, proto.MaxPushDelay/2)
	})
}

// smallWritesCoalesce writes 64 KiB on a fresh connection in Writes of
// 1 to 64 bytes, sleeping gap between them, and fails the test unless
// they left in at most one datagram per 30 Writes.
func smallWritesCoalesce(t *testing.T, concurrent bool, gap time.Duration) {
	_, a, b := simNet(t)
	got := make(chan int64, 1)
	go simServe(b, func(c *Conn) {
		n, _ := io.Copy(io.Discard, c)
		got <- n
	})
	c := simDial(t, a, b)
	defer c.Close()
	if concurrent {
		go io.Copy(io.Discard, c) // ends when c closes
	}
	synctest.Wait()
	out0 := a.Stats().PacketsOut
	const total = 64 << 10
	rng := rand.New(rand.NewPCG(3, 4))
	writes := 0
	for sent := 0; sent < total; writes++ {
		n := min(1+rng.IntN(64), total-sent)
		if _, err := c.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		sent += n
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != total {
		t.Fatalf("received %d bytes, want %d", n, total)
	}
	// Data packets, their FIN and a few ACKs of the server's.
	dgrams := a.Stats().PacketsOut - out0
	t.Logf("%d Writes, %d datagrams", writes, dgrams)
	if dgrams > uint64(writes/30) {
		t.Fatalf("%d Writes left in %d datagrams, want at most %d", writes, dgrams, writes/30)
	}
}

// A message written in three Writes while another goroutine waits to
// read the answer: the first two parts leave at once (PushBehindOne),
// the third is held behind two packets in flight. It must not wait the
// round trip for their ACK, only the push delay (proto's nagle.go).
func TestSimThreeWritesReaderWaiting(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		go simServe(b, func(c *Conn) { serveTwoWrites(c) })
		c := simDial(t, a, b)
		defer c.Close()
		replies := readEach(c, 20)
		msg := make([]byte, 20)
		for i := range 10 {
			synctest.Wait() // the reader is waiting
			start := time.Now()
			if err := threeWrites(c, msg); err != nil {
				t.Fatal(err)
			}
			if err := <-replies; err != nil {
				t.Fatal(err)
			}
			if d, want := time.Since(start), 2*simLinkDelay+proto.MaxPushDelay; i > 0 && d > want {
				t.Fatalf("exchange %d took %v, want at most %v (a round trip and the push delay)", i, d, want)
			} else if i == 1 {
				t.Logf("exchange %d took %v", i, d)
			}
		}
	})
}

// A writer that waits on something other than a Read of its connection
// (here a channel the peer's handler signals once it has the whole
// message) is not seen waiting; its held tail still leaves after the
// push delay, not after the peer's delayed ACK of the first part and its
// way back.
func TestSimTwoWritesWaitElsewhere(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		got := make(chan error, 1)
		go simServe(b, func(c *Conn) {
			for {
				_, err := io.ReadFull(c, make([]byte, 20))
				got <- err
				if err != nil {
					return
				}
			}
		})
		c := simDial(t, a, b)
		msg := make([]byte, 20)
		for i := range 10 {
			start := time.Now()
			if err := twoWrites(c, msg, 10); err != nil {
				t.Fatal(err)
			}
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			if d, want := time.Since(start), simLinkDelay+proto.MaxPushDelay; i > 0 && d > want {
				t.Fatalf("message %d arrived after %v, want at most %v (one link delay and the push delay)", i, d, want)
			} else if i == 1 {
				t.Logf("message %d arrived after %v", i, d)
			}
			time.Sleep(time.Second) // everything acknowledged
		}
		c.Close()
	})
}
