package proto

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// BEP 29 / libutp: the SYN carries the id the dialer receives on, the
// dialer sends everything else with that id + 1, its DATA continues after
// the SYN's seq_nr, and its ack_nr starts one below the reply's seq_nr
// (the acceptor's STATE does not consume its seq_nr).
func TestScriptHandshakeDialerIDsAndNumbers(t *testing.T) {
	tc := newRawTestConn(t, roleDialer)
	syn := tc.wantPacket("SYN", pkt{typ: wire.Syn, seq: u16(scriptISN), ack: u16(0), noSACK: true})
	if syn.h.ConnID != scriptRecvID {
		t.Fatalf("SYN connection_id %#x, want the receive id %#x", syn.h.ConnID, scriptRecvID)
	}
	if tc.conn.RecvID() != scriptRecvID || tc.conn.SendID() != scriptRecvID+1 {
		t.Fatalf("ids recv %#x send %#x, want %#x and %#x", tc.conn.RecvID(), tc.conn.SendID(), scriptRecvID, scriptRecvID+1)
	}
	tc.wantNoEvent("before the reply", EventConnected)
	tc.advance(scriptHandshakeRTT)
	tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN, scriptISN), "")
	tc.wantEvent("STATE acking the SYN completes the handshake", EventConnected)
	// Our first data confirms the handshake, taking seq_nr isn+1: libutp's
	// acceptor leaves SYN_RECV (where it cannot send) only on DATA.
	tc.wantIdle("nothing before the first write or the delayed-ACK interval")

	tc.write("hi")
	d := tc.wantPacket("first DATA with payload", pkt{typ: wire.Data, seq: u16(scriptISN + 1), ack: u16(scriptPeerISN - 1), payload: "hi"})
	if d.h.ConnID != scriptRecvID+1 {
		t.Fatalf("DATA connection_id %#x, want recv id + 1 = %#x", d.h.ConnID, scriptRecvID+1)
	}
	tc.peerData(scriptPeerISN, "yo") // the acceptor's first DATA reuses its STATE's seq_nr
	tc.wantRead("the acceptor's first DATA is in order", "yo")
}

// A dialer that does not write soon confirms the handshake with an empty
// DATA: at once when a Read waits (Confirm) or before a FIN, else after
// the delayed-ACK interval. Once sent, nothing confirms again.
func TestScriptHandshakeConfirmation(t *testing.T) {
	connect := func(t *testing.T) *testConn {
		tc := newRawTestConn(t, roleDialer)
		tc.wantPacket("SYN", pkt{typ: wire.Syn})
		tc.advance(scriptHandshakeRTT)
		tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN, scriptISN), "")
		tc.wantEvent("handshake", EventConnected)
		return tc
	}
	empty := pkt{typ: wire.Data, seq: u16(scriptISN + 1), ack: u16(scriptPeerISN - 1)}

	t.Run("timer", func(t *testing.T) {
		tc := connect(t)
		tc.advance(tc.conn.cfg.AckDelay - time.Millisecond)
		tc.wantIdle("before the delayed-ACK interval")
		tc.advance(time.Millisecond)
		tc.wantPacket("empty DATA after the delayed-ACK interval", empty)
		if tc.confirm() {
			t.Fatal("Confirm after the confirmation reports a packet due")
		}
		tc.write("hi")
		tc.wantPacket("data follows", pkt{typ: wire.Data, seq: u16(scriptISN + 2), payload: "hi"})
	})
	t.Run("read waits", func(t *testing.T) {
		tc := connect(t)
		if !tc.confirm() {
			t.Fatal("Confirm reports nothing due")
		}
		tc.wantPacket("empty DATA at once", empty)
		tc.peerAck(scriptISN + 1)
		tc.advance(time.Minute)
		for _, p := range tc.takeAll() {
			if p.h.Type == wire.Data {
				t.Fatalf("confirmed twice: %v", p)
			}
		}
	})
	t.Run("close", func(t *testing.T) {
		tc := connect(t)
		tc.closeWrite()
		tc.wantPacket("empty DATA before the FIN", empty)
		tc.wantPacket("FIN", pkt{typ: wire.Fin, seq: u16(scriptISN + 2)})
	})
	t.Run("close before the reply", func(t *testing.T) {
		tc := newRawTestConn(t, roleDialer)
		tc.wantPacket("SYN", pkt{typ: wire.Syn})
		tc.closeWrite()
		tc.advance(scriptHandshakeRTT)
		tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN, scriptISN), "")
		tc.wantPacket("empty DATA before the FIN", empty)
		tc.wantPacket("FIN", pkt{typ: wire.Fin, seq: u16(scriptISN + 2)})
	})
	t.Run("data", func(t *testing.T) {
		tc := connect(t)
		tc.write("hi")
		tc.closeWrite()
		tc.wantPacket("the data confirms", pkt{typ: wire.Data, seq: u16(scriptISN + 1), payload: "hi"})
		tc.wantPacket("FIN", pkt{typ: wire.Fin, seq: u16(scriptISN + 2)})
		tc.advance(tc.conn.cfg.AckDelay)
		for _, p := range tc.takeAll() {
			if p.h.Type == wire.Data {
				t.Fatalf("an empty DATA after data confirmed: %v", p)
			}
		}
	})
}

// libutp: the acceptor answers with a STATE carrying its isn and acking
// the SYN; the STATE does not consume isn, so the first DATA uses it.
func TestScriptHandshakeAcceptorReply(t *testing.T) {
	tc := newRawTestConn(t, roleAcceptor)
	st := tc.wantPacket("reply to the SYN", pkt{typ: wire.State, seq: u16(scriptISN), ack: u16(scriptPeerISN), noSACK: true})
	if st.h.ConnID != scriptRecvID {
		t.Fatalf("reply connection_id %#x, want the SYN's %#x", st.h.ConnID, scriptRecvID)
	}
	if tc.conn.RecvID() != scriptRecvID+1 {
		t.Fatalf("acceptor receives on %#x, want %#x", tc.conn.RecvID(), scriptRecvID+1)
	}
	tc.wantEvent("the acceptor is connected at once", EventConnected)
	tc.write("hello")
	tc.wantPacket("no data before the dialer's proof: an empty DATA asks for it, with the isn the STATE carried",
		pkt{typ: wire.Data, seq: u16(scriptISN), ack: u16(scriptPeerISN), payload: ""})
	tc.wantIdle("nothing more before the proof")
	tc.peerData(scriptPeerISN+1, "x")
	tc.wantEvent("the dialer's DATA proves it", EventProven)
	tc.wantRead("the dialer's first DATA follows its SYN", "x")
	tc.wantPacket("then the data",
		pkt{typ: wire.Data, seq: u16(scriptISN + 1), ack: u16(scriptPeerISN + 1), payload: "hello"})
}

// The acceptor may write first and its STATE may be lost: DATA acking the
// SYN completes the handshake in its place, and its seq_nr is the first.
func TestScriptHandshakeDataReplacesLostState(t *testing.T) {
	tc := newRawTestConn(t, roleDialer)
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	tc.advance(30 * time.Millisecond)
	tc.writePacket(tc.peerHeader(wire.Data, scriptPeerISN, scriptISN), "early")
	tc.wantEvent("DATA completes the handshake", EventConnected)
	tc.wantRead("the DATA's payload is delivered", "early")
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("the confirming empty DATA acknowledges it", pkt{typ: wire.Data, seq: u16(scriptISN + 1), ack: u16(scriptPeerISN)})
	tc.peerData(scriptPeerISN+1, " bird")
	tc.wantRead("the next DATA follows", " bird")
}

// A reply that does not acknowledge our SYN cannot complete the handshake.
func TestScriptHandshakeReplyMustAckSYN(t *testing.T) {
	tc := newRawTestConn(t, roleDialer)
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	ignored := tc.conn.Stats().PacketsIgnored
	tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN, scriptISN+7), "")
	tc.wantNoEvent("STATE acking something else", EventConnected)
	if got := tc.conn.Stats().PacketsIgnored; got != ignored+1 {
		t.Fatalf("PacketsIgnored %d, want %d", got, ignored+1)
	}
	tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN, scriptISN), "")
	tc.wantEvent("the right reply still works", EventConnected)
}

// libutp: a retransmitted SYN (our reply was lost) gets the saved reply
// again, byte for byte, even after time has passed and data was sent. A
// SYN for another connection id is ignored.
func TestScriptHandshakeDuplicateSYNGetsSavedReply(t *testing.T) {
	tc := newRawTestConn(t, roleAcceptor)
	first := tc.wantPacket("reply", pkt{typ: wire.State})
	tc.wantEvent("connected", EventConnected)
	tc.advance(200 * time.Millisecond)
	tc.write("data")
	tc.wantPacket("no data before the dialer's proof, but a request for it", pkt{typ: wire.Data, seq: u16(scriptISN), payload: ""})
	tc.advance(200 * time.Millisecond)
	tc.writePacket(tc.synHeader(), "")
	again := tc.wantPacket("reply to the duplicate SYN", pkt{typ: wire.State, seq: u16(scriptISN), ack: u16(scriptPeerISN)})
	if !bytes.Equal(again.raw, first.raw) {
		t.Fatalf("re-sent reply differs:\n got %x\nwant %x", again.raw, first.raw)
	}
	tc.wantIdle("one reply per duplicate SYN")
	tc.wantNoEvent("a duplicate SYN does not reconnect", EventConnected)

	other := tc.synHeader()
	other.ConnID = scriptRecvID + 100
	ignored := tc.conn.Stats().PacketsIgnored
	tc.writePacket(other, "")
	tc.wantIdle("a SYN for another connection id gets no reply")
	if got := tc.conn.Stats().PacketsIgnored; got != ignored+1 {
		t.Fatalf("PacketsIgnored %d, want %d", got, ignored+1)
	}
}

// RFC 6298 2.1 and 5.5: the SYN is retransmitted after 1 s, then 2, 4 s...
// (the doubling stops at RTT.MaxBackoff, 4 s by default); after
// Config.SynRetries retransmissions the next expiry fails the dial with
// ErrTimedOut. config.go documents the default: SYNs at 0, 1, 3, 7, 11, ...
// 35 s, failure at 39 s.
func TestScriptHandshakeSYNBackoff(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retries    int
		maxBackoff time.Duration
		failAt     time.Duration
	}{
		{"defaults", 0, 0, 39 * time.Second},
		{"SynRetries=2", 2, 0, 7 * time.Second},
		{"SynRetries=4,MaxBackoff=60s", 4, time.Minute, 31 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := newRawTestConn(t, roleDialer, withConfig(func(c *Config) {
				c.SynRetries = tt.retries
				c.RTT.MaxBackoff = tt.maxBackoff
			}))
			cfg := tc.conn.cfg
			syn := pkt{typ: wire.Syn, seq: u16(scriptISN), ack: u16(0)}
			tc.wantPacket("SYN", syn)
			gap := time.Second
			for i := 1; i <= cfg.SynRetries; i++ {
				tc.advance(gap - time.Millisecond)
				tc.wantIdle(fmt.Sprintf("before retry %d", i))
				tc.advance(time.Millisecond)
				tc.wantPacket(fmt.Sprintf("SYN retry %d, %v after the previous one", i, gap), syn)
				gap = min(2*gap, cfg.RTT.MaxBackoff)
			}
			tc.advance(gap - time.Millisecond)
			tc.wantOpen("before the last timeout")
			tc.wantIdle("no SYN beyond SynRetries")
			tc.advance(time.Millisecond)
			tc.wantClosed("the dial gives up", ErrTimedOut)
			if tc.elapsed() != tt.failAt {
				t.Fatalf("dial failed at %v, want %v", tc.elapsed(), tt.failAt)
			}
			tc.wantIdle("no SYN after giving up")
			tc.wantNoEvent("never connected", EventConnected)
			tc.wantWriteErr("Write after the dial failed", ErrTimedOut)
			tc.wantReadErr("Read after the dial failed", ErrTimedOut)
			if got := tc.conn.NextDeadline(); !got.IsZero() {
				t.Fatalf("NextDeadline %v after close, want none", got)
			}
		})
	}
}

// No amplification (amplify.go, RFC 9000 8.1): an acceptor whose dialer
// has not echoed our initial sequence number sends no data, no FIN and no
// keepalive, only one empty DATA asking for the proof. A packet from the
// dialer with any other ack_nr proves nothing and is ignored; the echo
// proves it and lets everything out.
func TestScriptHandshakeAcceptorSilentUntilProven(t *testing.T) {
	tc := newRawTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.PacketSize = 10 }))
	tc.wantPacket("reply", pkt{typ: wire.State, seq: u16(scriptISN)})
	tc.wantEvent("connected", EventConnected)
	tc.write("0123456789abcdefghij")
	tc.closeWrite()
	tc.wantPacket("the proof request", pkt{typ: wire.Data, seq: u16(scriptISN), payload: ""})
	tc.wantIdle("no data and no FIN before the proof")
	for _, ack := range []uint16{scriptISN - 2, scriptISN + 1, 0, scriptISN + 5} {
		tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN+1, ack), "")
		tc.wantIdle(fmt.Sprintf("ack_nr %d does not echo the isn", ack))
		tc.wantNoEvent("not proven", EventProven)
	}
	if tc.conn.Confirmed() {
		t.Fatal("Confirmed before the proof")
	}
	tc.advance(9 * time.Second)
	for _, p := range tc.takeAll() {
		if p.h.Type != wire.Data || len(p.payload) != 0 || p.h.SeqNr != scriptISN {
			t.Fatalf("sent %v before the proof; only the proof request may be resent", p)
		}
	}
	tc.peerAck(scriptISN)
	tc.wantEvent("the echo proves it", EventProven)
	if !tc.conn.Confirmed() {
		t.Fatal("not Confirmed after the proof")
	}
	tc.wantPacket("data once proven", pkt{typ: wire.Data, seq: u16(scriptISN + 1), payload: "0123456789"})
}

// A dialer that waits for the server to speak first and sends nothing is
// asked for the proof proofRequestDelay after its SYN.
func TestScriptHandshakeProofRequestedAfterDelay(t *testing.T) {
	tc := newRawTestConn(t, roleAcceptor)
	tc.wantPacket("reply", pkt{typ: wire.State, seq: u16(scriptISN)})
	tc.advance(proofRequestDelay - time.Millisecond)
	tc.wantIdle("the dialer may still prove itself")
	tc.advance(time.Millisecond)
	tc.wantPacket("the proof request", pkt{typ: wire.Data, seq: u16(scriptISN), payload: ""})
	tc.peerAck(scriptISN)
	tc.wantEvent("connected", EventConnected)
	tc.wantEvent("proven by acknowledging the request", EventProven)
}

// amplify.go: unproven, the acceptor sends at most 3 times the bytes it
// received, its SYN reply and the proof request included: duplicate SYNs
// each buy a reply, a RESET gets no challenge, Reset sends nothing, and
// after ProofTimeout without a proof the connection ends silently.
func TestScriptHandshakeUnprovenBudgetAndTimeout(t *testing.T) {
	tc := newRawTestConn(t, roleAcceptor)
	in, out := wire.HeaderSize, 0
	tally := func(why string) {
		for _, p := range tc.takeAll() {
			if p.h.Type != wire.State && (p.h.Type != wire.Data || len(p.payload) > 0) {
				t.Fatalf("%s: sent %v before the proof", why, p)
			}
			out += len(p.raw)
		}
		if out > 3*in {
			t.Fatalf("%s: sent %d bytes for %d received", why, out, in)
		}
	}
	tally("reply")
	for i := range 5 {
		tc.advance(time.Second)
		tally(fmt.Sprintf("before duplicate SYN %d", i))
		tc.writePacket(tc.synHeader(), "")
		in += wire.HeaderSize
		tally(fmt.Sprintf("reply to duplicate SYN %d", i))
	}
	t.Logf("%d bytes received, %d sent", in, out)
	// Plausible (it echoes the isn) but not exact (seq_nr is not the next
	// one we expect): would be challenged, but an unproven acceptor sends
	// nothing.
	tc.writePacket(tc.peerHeader(wire.Reset, scriptPeerISN+7, scriptISN-1), "")
	in += wire.HeaderSize
	tally("RESET")
	tc.wantOpen("an inexact RESET is not honoured")
	tc.advance(tc.conn.cfg.ProofTimeout - time.Millisecond)
	tally("waiting")
	tc.wantOpen("the last SYN restarted the proof timer")
	tc.advance(time.Millisecond)
	tc.wantClosed("never proven", ErrTimedOut)
	tc.wantIdle("ends silently")

	tc = newRawTestConn(t, roleAcceptor)
	tc.wantPacket("reply", pkt{typ: wire.State})
	tc.reset()
	tc.wantIdle("Reset of an unproven connection sends nothing")
	tc.wantClosed("reset", ErrLocalReset)
}

// BEP 29: a RESET in reply to our SYN means the dial was refused.
func TestScriptHandshakeResetRefused(t *testing.T) {
	tc := newRawTestConn(t, roleDialer)
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	tc.advance(20 * time.Millisecond)
	tc.writePacket(tc.peerHeader(wire.Reset, scriptPeerISN, scriptISN), "")
	tc.wantClosed("RESET refuses the dial", ErrConnRefused)
	tc.wantNoEvent("never connected", EventConnected)
	tc.wantWriteErr("Write after refusal", ErrConnRefused)
	tc.advance(time.Minute)
	tc.wantIdle("no SYN retries and no RESET answer")
}

// A dialer whose path looked shrunk asks what we hold with an empty DATA
// carrying its SYN's seq_nr (pmtu.go): a duplicate, and on a path too
// narrow for its data perhaps all it gets through. Its ack_nr echoes our
// initial sequence number, so it proves the dialer (proveByDuplicate);
// a duplicate with any other seq_nr proves nothing and has no ack taken
// (sweep seed 8108: the acceptor ignored five such questions and ended
// at ProofTimeout).
func TestScriptHandshakeQuestionProves(t *testing.T) {
	tc := newRawTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.PacketSize = 10 }))
	tc.wantPacket("reply", pkt{typ: wire.State, seq: u16(scriptISN)})
	tc.wantEvent("connected", EventConnected)
	tc.write("0123456789")
	tc.wantPacket("the proof request", pkt{typ: wire.Data, seq: u16(scriptISN), payload: ""})
	for _, seq := range []uint16{scriptPeerISN - 1, scriptPeerISN - 100} {
		tc.writePacket(tc.peerHeader(wire.Data, seq, scriptISN), "")
		tc.takeAll() // re-ACKed as a duplicate
		tc.wantNoEvent(fmt.Sprintf("a duplicate with seq_nr %d does not prove", seq), EventProven)
		if tc.conn.Confirmed() || tc.conn.snd.una != scriptISN {
			t.Fatalf("a duplicate with seq_nr %d proved or had its ack taken (una %d)", seq, tc.conn.snd.una)
		}
	}
	tc.writePacket(tc.peerHeader(wire.Data, scriptPeerISN, scriptISN-1), "")
	tc.wantEvent("the question proves the dialer", EventProven)
	if !tc.conn.Confirmed() {
		t.Fatal("not Confirmed after the question")
	}
}
