package utp

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// A dialer whose proof is lost while a flood sheds its handshake is never
// left unanswered: if its retransmitted proof comes while the handshake
// can still be rebuilt (within unprovenMaxAge of the SYN) the echo
// completes, and after that the server, which has forgotten it, resets it
// within an RTO and a round trip of the path healing. The handshake's
// round trip is 1.5 s, as the legitimate dials' was under load in
// e2e/attack's flood, where one such dial once went unanswered for 31.6 s.
func TestSimLostProofAnsweredOrReset(t *testing.T) {
	for _, tc := range []struct {
		cut   time.Duration // how long both directions lose everything, from the connection
		reset bool          // whether the dialer must end reset rather than echoed
	}{{2 * time.Second, false}, {5 * time.Second, false}, {12 * time.Second, true}, {20 * time.Second, true}} {
		t.Run(fmt.Sprint(tc.cut), func(t *testing.T) {
			checkLeaks(t)
			synctest.Test(t, func(t *testing.T) { lostProofRun(t, tc.cut, tc.reset) })
		})
	}
}

func lostProofRun(t *testing.T, cut time.Duration, reset bool) {
	const limit = 8
	n := netsim.NewNetwork(1)
	n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
	n.Connect("a", "b", netsim.LinkConfig{Delay: 1500 * time.Millisecond}, netsim.LinkConfig{Delay: 10 * time.Millisecond})
	a := NewSocket(n.Listen("a"))
	b := NewSocket(n.Listen("b"), WithUnprovenLimit(limit))
	defer a.Close()
	defer b.Close()
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() { // 10 forged SYNs a second: a handshake is shed within 0.8 s
		defer close(flooded)
		var srcs []*netsim.PacketConn
		defer func() {
			for _, pc := range srcs {
				pc.Close()
			}
		}()
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if k < 4*limit {
				srcs = append(srcs, n.Listen(netsim.Addr(fmt.Sprintf("src%d", k))))
			}
			syn := wire.Header{Type: wire.Syn, ConnID: uint16(k * 7919), SeqNr: uint16(k)}
			srcs[k%len(srcs)].WriteTo(syn.Append(nil), b.Addr())
		}
	}()
	defer func() { close(stop); <-flooded }()
	go func() { // echo one byte
		for {
			c, err := b.AcceptUTP()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := []byte{0}
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf)
				}
			}()
		}
	}()
	c, err := a.DialUTP(t.Context(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n.Partition("a", "b", true)
	healed := time.Now().Add(cut)
	time.AfterFunc(cut, func() { n.Partition("a", "b", false) })
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	buf := []byte{1}
	c.Write(buf)
	_, err = io.ReadFull(c, buf)
	st := c.Stats()
	after := time.Since(healed)
	t.Logf("lost for %v: %v %v after the path healed; dialer: %d retransmissions, %d RESETs challenged, RTO %v; server: %+v",
		cut, err, after, st.Retransmits, st.ResetsChallenged, st.RTO, b.Stats())
	switch {
	case !reset && err != nil:
		t.Fatalf("the echo failed: %v", err)
	case reset && !errors.Is(err, ErrConnReset):
		t.Fatalf("the echo ended with %v; want a reset, the handshake being too old to rebuild", err)
	case reset && after > 8*time.Second: // the 4 s backoff cap, a 1.5 s round trip, and a challenge's
		t.Fatalf("reset %v after the path healed: the server left the dialer unanswered for more than an RTO and a round trip", after)
	}
}
