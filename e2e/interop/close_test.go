package interop

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/e2e/relay"
	"github.com/inet256/go-utp/v2/utp"
)

// Neither peer has a half-close in its Go API (go-libutp and anacrolix/utp
// Conns have only Close, and both stop delivering data once closed), so
// every close test ends the peer's side with Close, after it has read
// everything it should.

const closeSize = 100 << 10

// timeWaitBound bounds how long a connection that sent its FIN before the
// peer's stays in our table: TIME-WAIT lasts four times the larger of the
// backoff cap (4 s) and the RTO, 16 s on loopback (docs/protocol.md,
// Close). libutp keeps no TIME-WAIT and sends no RESET after both FINs,
// so with it we wait that long; anacrolix/utp's RESET ends ours at once.
const timeWaitBound = 30 * time.Second

// waitDone waits until our connection has left our Socket (Conn.Done),
// and checks that it ended cleanly.
func waitDone(c *utp.Conn, within time.Duration) error {
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-c.Done():
	case <-t.C:
		return fmt.Errorf("our connection is still in our Socket after %v", within)
	}
	if err := c.Err(); err != nil {
		return fmt.Errorf("our connection ended with %v, want a clean end", err)
	}
	return nil
}

// wantEOF checks that a Read on our ended connection reports a clean end.
func wantEOF(c *utp.Conn) error {
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, io.EOF) {
		return fmt.Errorf("read after the end returned %d, %v; want 0, io.EOF", n, err)
	}
	return nil
}

type closeSetup struct {
	pr pair
	us *utp.Socket
	p  peer
	rl *relay.Relay
	tp *tap
}

// noImpairment is a relay that only counts.
var noImpairment = relay.Config{}

// closeCase opens one connection through a counting relay, which drops
// what cfg says and nothing else.
func closeCase(t *testing.T, k peerKind, weDial bool, cfg relay.Config) closeSetup {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	us := listenOurs(t)
	p := newPeer(t, k)
	rl, rt, tp := newTappedRelay(t, us, p, cfg)
	pr := connect(t, ctx, us, p, weDial, rt)
	if weDial && k.name == "libutp" {
		// libutp's acceptor cannot send before our first DATA
		// (TestAcceptorWritesFirst); these tests are about closing.
		must(t, "we write 1 byte", writeStream(pr.ours, 99, 1))
		must(t, "peer reads 1 byte", readN(pr.theirs, 1))
	}
	return closeSetup{pr, us, p, rl, tp}
}

func readN(c io.Reader, n int) error {
	_, err := io.ReadFull(c, make([]byte, n))
	return err
}

// TestCloseWeFirst: we write, then Close (a full close). The peer reads
// everything then EOF, and closes in turn; our connection then leaves our
// Socket's table. With libutp no RESET crosses
// the wire. anacrolix/utp forgets a connection as soon as it has sent its
// FIN, so it answers our ACK of that FIN with RESETs; we must treat them
// as the end of a finished connection, which is TestCloseTheyFirst.
func TestCloseWeFirst(t *testing.T) {
	t.Parallel() // its libutp cases wait out our TIME-WAIT
	forEachPeerAndRoleAtOnce(t, func(t *testing.T, k peerKind, weDial bool) {
		c := closeCase(t, k, weDial, noImpairment)
		must(t, "we write 100 KiB", writeStream(c.pr.ours, seedOurs, closeSize))
		must(t, "we close", c.pr.ours.Close())
		must(t, "peer reads 100 KiB and EOF", readStream(c.pr.theirs, seedOurs, closeSize))
		must(t, "peer closes", c.pr.theirs.Close())
		must(t, "our connection ends", waitDone(c.pr.ours, timeWaitBound))
		time.Sleep(200 * time.Millisecond) // let late packets show on the tap
		t.Logf("wire: %v", c.tp)
		if n := c.tp.toPeer[stReset].Load() + c.tp.toUs[stReset].Load(); k.name == "libutp" && n != 0 {
			t.Errorf("step %q: %d RESETs crossed the wire (%v)", "clean close", n, c.tp)
		}
	})
}

// TestCloseTheyFirst: the peer writes, then closes. We read everything
// then EOF and half-close in turn. Both peers forget a connection once
// their FIN is acknowledged and answer our FIN with RESET; since we hold
// their whole stream and they have all of ours, that RESET ends our
// connection cleanly (docs/protocol.md, Close): it leaves our table and a
// Read still reports io.EOF. On a loaded machine the RESET can come
// before our FIN: our first ACK came late, the peer resent its data, and
// it answers our ACKs of the duplicates after forgetting the connection;
// that end is clean as well.
func TestCloseTheyFirst(t *testing.T) {
	forEachPeerAndRole(t, func(t *testing.T, k peerKind, weDial bool) {
		c := closeCase(t, k, weDial, noImpairment)
		must(t, "peer writes 100 KiB", writeStream(c.pr.theirs, seedTheirs, closeSize))
		must(t, "peer closes", c.pr.theirs.Close())
		must(t, "we read 100 KiB and EOF", readStream(c.pr.ours, seedTheirs, closeSize))
		must(t, "we half-close", c.pr.ours.CloseWrite())
		must(t, "our connection ends", waitDone(c.pr.ours, 10*time.Second))
		must(t, "our connection ended cleanly", wantEOF(c.pr.ours))
		t.Logf("wire: %v", c.tp)
	})
}

// TestHalfClose: we write a request and half-close; the peer reads it to
// EOF, then writes its answer and closes; we read the answer to EOF and
// our connection ends cleanly. Our FIN does not stop the peer from
// sending.
func TestHalfClose(t *testing.T) {
	t.Parallel() // its libutp cases wait out our TIME-WAIT
	forEachPeerAndRoleAtOnce(t, func(t *testing.T, k peerKind, weDial bool) {
		c := closeCase(t, k, weDial, noImpairment)
		must(t, "we write 100 KiB", writeStream(c.pr.ours, seedOurs, closeSize))
		must(t, "we half-close", c.pr.ours.CloseWrite())
		must(t, "peer reads 100 KiB and EOF", readStream(c.pr.theirs, seedOurs, closeSize))
		must(t, "peer writes 100 KiB after our FIN", writeStream(c.pr.theirs, seedTheirs, closeSize))
		must(t, "peer closes", c.pr.theirs.Close())
		must(t, "we read 100 KiB and EOF", readStream(c.pr.ours, seedTheirs, closeSize))
		must(t, "our connection ends", waitDone(c.pr.ours, timeWaitBound))
		must(t, "our connection ended cleanly", wantEOF(c.pr.ours))
		t.Logf("wire: %v", c.tp)
	})
}

// TestOurFINLost: the relay drops our first FIN; we retransmit it and the
// peer still reads EOF after the last byte.
func TestOurFINLost(t *testing.T) {
	forEachPeerAndRole(t, func(t *testing.T, k peerKind, weDial bool) {
		c := closeCase(t, k, weDial, relay.Config{AToB: relay.Link{Drop: relay.DropFirst(1, isType(stFin))}})
		must(t, "we write 100 KiB", writeStream(c.pr.ours, seedOurs, closeSize))
		must(t, "we half-close", c.pr.ours.CloseWrite())
		must(t, "peer reads 100 KiB and EOF", readStream(c.pr.theirs, seedOurs, closeSize))
		toPeer, _ := c.rl.Stats()
		if toPeer.Filtered != 1 || c.tp.toPeer[stFin].Load() < 2 {
			t.Fatalf("step %q: relay dropped %d datagrams, we sent %d FINs; want 1 dropped, 2 or more FINs",
				"first FIN lost, then resent", toPeer.Filtered, c.tp.toPeer[stFin].Load())
		}
		must(t, "peer closes", c.pr.theirs.Close())
		must(t, "we read EOF", readStream(c.pr.ours, seedTheirs, 0))
		t.Logf("wire: %v", c.tp)
	})
}

// TestTheirFINLost: the relay drops the peer's first FIN; libutp resends
// it and we still read EOF.
//
// anacrolix/utp v0.2.0 destroys a closed Conn as soon as nothing but its
// FIN is unacknowledged (conn.go, lazyDestroy) and resends nothing after
// that (so does its fork, the v0 library); its FIN is resent only if its timer (three times its RTT
// estimate) fires before our ACK of its last data arrives. So its stream
// may not end cleanly once its FIN is lost. What must hold then is that we
// do not hang: once we have read its data and half-close, either its FIN
// was resent and we read EOF, or it answers our FIN with RESET and our
// connection ends with ErrConnReset. (Had we nothing to send, our
// keepalive would draw the same RESET 29 s later.)
func TestTheirFINLost(t *testing.T) {
	forEachPeerAndRole(t, func(t *testing.T, k peerKind, weDial bool) {
		c := closeCase(t, k, weDial, relay.Config{BToA: relay.Link{Drop: relay.DropFirst(1, isType(stFin))}})
		must(t, "peer writes 100 KiB", writeStream(c.pr.theirs, seedTheirs, closeSize))
		must(t, "peer closes", c.pr.theirs.Close())
		if k.lazyFIN {
			must(t, "we read 100 KiB", readN(c.pr.ours, closeSize))
			must(t, "we half-close", c.pr.ours.CloseWrite())
			_, err := c.pr.ours.Read(make([]byte, 1))
			fins := c.tp.toUs[stFin].Load()
			switch {
			case errors.Is(err, io.EOF) && fins >= 2:
				t.Logf("its FIN was resent; wire: %v", c.tp)
			case errors.Is(err, utp.ErrConnReset):
				t.Logf("it reset; wire: %v", c.tp)
			default:
				t.Fatalf("step %q: read returned %v after %d FINs; want EOF after a resent FIN, or ErrConnReset",
					"our connection ends", err, fins)
			}
			return
		}
		must(t, "we read 100 KiB and EOF", readStream(c.pr.ours, seedTheirs, closeSize))
		_, toUs := c.rl.Stats()
		if toUs.Filtered != 1 || c.tp.toUs[stFin].Load() < 2 {
			t.Fatalf("step %q: relay dropped %d datagrams, peer sent %d FINs; want 1 dropped, 2 or more FINs",
				"first FIN lost, then resent", toUs.Filtered, c.tp.toUs[stFin].Load())
		}
		t.Logf("wire: %v", c.tp)
	})
}
