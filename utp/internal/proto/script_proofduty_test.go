package proto

import (
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// proofduty.go: until the acceptor shows it heard us, a dialer owes its
// proof in a bare STATE, which any path carries: at once and before its
// data when a proof request arrives, first or repeated, and beside every
// retransmission timeout's resend of data. Sweep seed 4105: the answer to
// the request rode on data a narrow path black-holed, and the acceptor,
// unproven, ended at ProofTimeout.
func TestScriptProofDutyBareAnswers(t *testing.T) {
	tc := newRawTestConn(t, roleDialer)
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	tc.write(strings.Repeat("x", 3000))
	tc.advance(scriptHandshakeRTT)
	// Our SYN's reply was lost; the acceptor's proof request arrives.
	request := tc.peerHeader(wire.Data, scriptPeerISN, scriptISN)
	tc.notePeerSeq(scriptPeerISN)
	tc.writePacket(request, "")
	tc.wantEvent("the request completes the handshake", EventConnected)
	// The handshake's confirmation was still due: it answers, bare, and
	// the data follows.
	tc.wantPacket("the confirmation answers at once, before the data",
		pkt{typ: wire.Data, seq: u16(scriptISN + 1), ack: u16(scriptPeerISN), payload: ""})
	if d := tc.takeAll(); len(d) == 0 || d[0].h.Type != wire.Data || d[0].h.SeqNr != scriptISN+2 || len(d[0].payload) == 0 {
		t.Fatalf("the data should follow the proof, sent %v", d)
	}

	// Everything is lost. Each retransmission timeout resends the bare
	// confirmation first.
	for i := range 2 {
		resend := tc.timeout()
		if len(resend[0].payload) != 0 || resend[0].h.AckNr != scriptPeerISN {
			t.Fatalf("timeout %d: sent %v, want a bare packet echoing the request first", i+1, resend)
		}
	}

	// A repeated request is answered at once with a bare STATE.
	bare := pkt{typ: wire.State, ack: u16(scriptPeerISN), payload: ""}
	tc.writePacket(request, "")
	tc.wantPacket("a repeated request gets a bare proof at once", bare)
	tc.takeAll()

	// The confirmation arrives, but not the data, which is black-holed:
	// the acceptor acknowledges only the confirmation, so it heard us and
	// the duty ends. A timeout resends the data alone.
	tc.peerAck(scriptISN + 1)
	tc.takeAll()
	if tc.conn.duty.owed {
		t.Fatal("the duty outlived the acceptor's acknowledgement")
	}
	for _, p := range tc.timeout() {
		if p.h.Type == wire.State {
			t.Fatalf("a bare STATE at a timeout after the acceptor heard us: %v", p)
		}
	}
}

// A dialer whose SYN reply was a STATE owes the proof as well: the
// acceptor asks only when nothing from us arrived, so a timeout of our
// first data sends the bare proof even before any request. Other
// acceptors (libutp, libtorrent) see one more ACK.
func TestScriptProofDutyWithoutRequest(t *testing.T) {
	tc := newRawTestConn(t, roleDialer)
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	tc.advance(scriptHandshakeRTT)
	tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN, scriptISN), "")
	tc.wantEvent("handshake", EventConnected)
	tc.write("hello")
	tc.wantPacket("the data confirms", pkt{typ: wire.Data, seq: u16(scriptISN + 1), payload: "hello"})
	resend := tc.timeout()
	if len(resend) != 2 || resend[0].h.Type != wire.State || resend[0].h.AckNr != scriptPeerISN-1 {
		t.Fatalf("timeout: sent %v, want a bare STATE echoing the reply, then the resend", resend)
	}
	if resend[1].h.Type != wire.Data || string(resend[1].payload) != "hello" {
		t.Fatalf("timeout: sent %v, want the data resent", resend)
	}
}

// timeout advances to the next retransmission timeout and returns what
// went out at it.
func (tc *testConn) timeout() []sentPacket {
	tc.t.Helper()
	before := tc.conn.Stats().Timeouts
	for i := 0; tc.conn.Stats().Timeouts == before; i++ {
		if i > 100 {
			tc.t.Fatalf("at %v: no retransmission timeout", tc.elapsed())
		}
		tc.takeAll()
		tc.advanceToTimer()
	}
	var at []sentPacket
	for _, p := range tc.takeAll() {
		if p.at.Equal(tc.now) {
			at = append(at, p)
		}
	}
	if len(at) == 0 {
		tc.t.Fatalf("at %v: nothing sent at the timeout", tc.elapsed())
	}
	return at
}

// A repeated proof request reaching a dialer that stopped sending to ask
// what the peer holds (its large packets looked black-holed, pmtu.go) is
// the answer too: the acceptor holds nothing of ours, since any of it
// would have proven us. The data goes out again at once in packets the
// shrunk path carries, each of them a proof, rather than after the next
// question, a backed-off timeout later (sweep seed 4105).
func TestScriptProofDutyRequestSettlesRewind(t *testing.T) {
	tc := newRawTestConn(t, roleDialer, withConfig(strandConfig), withWindow(64<<10))
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	tc.advance(scriptHandshakeRTT)
	reply := tc.peerHeader(wire.State, scriptPeerISN, scriptISN)
	reply.MaxDatagram = 65535
	tc.writePacket(reply, "")
	tc.wantEvent("handshake", EventConnected)
	full := tc.conn.maxPayload()
	if full != 1452-dataOverhead(&tc.conn.cfg) {
		t.Fatalf("full payload %d at a 1,452-byte path", full)
	}
	tc.write(strings.Repeat("x", 4*full)) // the data confirms, and is black-holed
	request := tc.peerHeader(wire.Data, scriptPeerISN, scriptISN)
	tc.notePeerSeq(scriptPeerISN)
	tc.writePacket(request, "")
	tc.takeAll()
	for i := 0; i < 10 && tc.conn.Stats().PathBlackHoles == 0; i++ {
		tc.advanceToTimer()
	}
	if st := tc.conn.Stats(); st.PathBlackHoles != 1 {
		t.Fatalf("no black hole after the data's timeouts: %+v", st)
	}
	tc.advance(2 * time.Second) // past rewindQuiet; the questions are lost
	tc.takeAll()
	tc.writePacket(request, "")
	if st := tc.conn.Stats(); st.Repacketized != 1 {
		t.Fatalf("Repacketized %d after a repeated request, want 1", st.Repacketized)
	}
	sent := tc.takeAll()
	if len(sent) < 2 || sent[0].h.Type != wire.State || len(sent[0].payload) != 0 {
		t.Fatalf("sent %v, want the bare proof first", sent)
	}
	data := 0
	for _, p := range sent[1:] {
		if len(p.payload) > 0 {
			data++
			if len(p.raw) > tc.cfg.PathBase {
				t.Errorf("resent %v in %d bytes on a path of %d", p, len(p.raw), tc.cfg.PathBase)
			}
		}
	}
	if data == 0 {
		t.Fatalf("sent %v: no data after the request settled the question", sent)
	}
}
