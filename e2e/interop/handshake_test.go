package interop

import (
	"context"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/e2e/relay"
)

// bannerSize is more than one packet toward either peer, so that an
// acceptor writing first must get past its first packet.
const bannerSize = 100 << 10

// TestAcceptorWritesFirst: a protocol whose acceptor speaks first (a
// banner, as SMTP and SSH have) works in both roles: the dialer reads the
// acceptor's banner before writing anything, then answers.
//
// libutp's acceptor cannot send until it receives a DATA packet: it stays
// in CS_SYN_RECV, where utp_write refuses, and only an ST_DATA moves it to
// CS_CONNECTED (utp_internal.cpp, utp_process_incoming). go-libutp's own
// dialer therefore writes an empty DATA packet on connect (callbacks.go,
// stateChangeCallback: utp_write(socket, nil, 0)). As dialer we must send
// what it needs.
func TestAcceptorWritesFirst(t *testing.T) {
	forEachPeerAndRole(t, func(t *testing.T, k peerKind, weDial bool) {
		ctx := testCtx(t, 30*time.Second)
		us := listenOurs(t)
		p := newPeer(t, k)
		pr := connect(t, ctx, us, p, weDial, direct(us, p))
		// A working peer answers within milliseconds; the deadline only
		// bounds a stuck exchange (progressBound).
		bannerBy := time.Now().Add(progressBound)
		must(t, "set our deadline", pr.ours.SetDeadline(bannerBy))
		must(t, "set peer deadline", pr.theirs.SetDeadline(bannerBy))
		g := newGroup(ctx)
		if weDial {
			g.Go("peer (acceptor) writes a 100 KiB banner", func() error {
				return writeStream(pr.theirs, seedTheirs, bannerSize)
			})
			g.Go("we (dialer) read the banner before writing anything", func() error {
				return readN(pr.ours, bannerSize)
			})
		} else {
			g.Go("we (acceptor) write a 100 KiB banner", func() error {
				return writeStream(pr.ours, seedOurs, bannerSize)
			})
			g.Go("peer (dialer) reads the banner before writing anything", func() error {
				return readN(pr.theirs, bannerSize)
			})
		}
		g.Wait(t)
		dl, _ := ctx.Deadline()
		must(t, "reset deadlines", pr.ours.SetDeadline(dl))
		must(t, "reset peer deadlines", pr.theirs.SetDeadline(dl))
		// Then the usual exchange on the same connection.
		exchange(t, ctx, pr, closeSize)
	})
}

// TestLostSYNReply: the relay drops the acceptor's reply to our SYN. Our
// dialer resends the SYN, and the dial must still complete.
//
// libutp does not answer a SYN for a connection it already has: it drops
// it as "connection already exists" (utp_internal.cpp, utp_process_udp)
// and never resends its STATE, which is not in its send buffer; and its
// acceptor, stuck in CS_SYN_RECV, cannot send DATA either. Resending the
// same SYN therefore cannot work; only a new SYN, with a new connection
// id, can. anacrolix/utp answers a repeated SYN with its STATE again
// (socket.go, ackSyn).
func TestLostSYNReply(t *testing.T) {
	for _, k := range peerKinds {
		t.Run(k.name+"/we_dial", func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			us := listenOurs(t)
			p := newPeer(t, k)
			rl, rt, tp := newTappedRelay(t, us, p, relay.Config{BToA: relay.Link{Drop: relay.DropFirst(1, isType(stState))}})
			// Our SYN is resent after 1 s, then 2 s later: a dial that
			// recovers takes about 3 s.
			dialCtx, cancel := context.WithTimeout(ctx, 8*time.Second)
			defer cancel()
			pr := connect(t, dialCtx, us, p, true, rt)
			if _, toUs := rl.Stats(); toUs.Filtered != 1 {
				t.Fatalf("step %q: relay dropped %d datagrams, want the reply", "reply lost", toUs.Filtered)
			}
			if k.name == "libutp" {
				// libutp drops a repeated SYN for a connection it has and
				// never re-sends the lost reply, so our dial starts over with
				// a fresh connection id after 3 s. libutp announced the first
				// SYN to its application already: that connection is the
				// abandoned attempt, and the live one is the next Accept.
				abandoned := pr.theirs
				live, err := p.Accept(dialCtx)
				must(t, "peer accepts the retried connection", err)
				pr.theirs = live
				t.Cleanup(func() { abandoned.Close(); live.Close() })
			}
			dl, _ := ctx.Deadline()
			must(t, "set our deadline", pr.ours.SetDeadline(dl))
			must(t, "set peer deadline", pr.theirs.SetDeadline(dl))
			exchange(t, ctx, pr, closeSize)
			t.Logf("wire: %v", tp)
		})
	}
}
