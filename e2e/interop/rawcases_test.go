package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/internal/stallwatch"
	"github.com/inet256/go-utp/v2/utp"
)

// rawStream drives the receiving side of our Socket's data: it records
// every DATA packet by sequence number and tracks the in-order point.
type rawStream struct {
	*rawConn
	got  map[uint16][]byte
	next uint16 // the first sequence number not yet received in order
	// resent counts packets received again after being recorded.
	resent map[uint16]int
}

func newRawStream(c *rawConn) *rawStream {
	return &rawStream{rawConn: c, got: make(map[uint16][]byte), resent: make(map[uint16]int), next: c.isn}
}

// pump receives one packet and records it if it is DATA.
func (s *rawStream) pump(step string) {
	s.t.Helper()
	h, p := s.recv(step, progressBound)
	if h.typ != stData || h.connID != s.recvID {
		return
	}
	if _, dup := s.got[h.seq]; dup {
		s.resent[h.seq]++
		return
	}
	s.got[h.seq] = p
}

// advance moves the in-order point over what has arrived and returns it.
func (s *rawStream) advance() uint16 {
	for {
		if _, ok := s.got[s.next]; !ok {
			return s.next
		}
		s.next++
	}
}

// ackInOrder acknowledges, one STATE per DATA packet, until n packets from
// our first have arrived in order; in slow start this opens our window.
func (s *rawStream) ackInOrder(step string, n int) {
	s.t.Helper()
	for int(uint16(s.advance()-s.isn)) < n {
		s.pump(step)
		if next := s.advance(); next != s.ack+1 {
			s.ack = next - 1
			s.state(step, s.ack)
		}
	}
}

// bytes returns the payloads of the first n packets, in order.
func (s *rawStream) bytes(n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, s.got[s.isn+uint16(i)]...)
	}
	return b
}

const (
	rawPacketSize = 100
	rawHeader     = 20 // a uTP header: the window counts whole datagrams
	// rawPackets leaves room for slow start to reach sackWindow with a
	// dozen packets or more behind it, however the ACKs were timed.
	rawPackets = 64
)

// rawSender opens a raw connection and has our side write rawPackets
// packets of rawPacketSize bytes (Nagle off, so every write goes out).
// The cases count on RFC 6817 LEDBAT's slow start, which doubles the
// window per RTT, to have several packets in flight after ten ACKs
// (about a dozen on an idle machine; ackUntilWindow waits for a given
// size); LEDBAT++'s grows by 1/6 per ACK on loopback.
func rawSender(t *testing.T) (*rawStream, []byte) {
	t.Helper()
	ctx := testCtx(t, 20*time.Second)
	us := listenOurs(t, utp.WithPacketSize(rawPacketSize), utp.WithNoDelay(true), utp.WithCongestionControl(utp.LEDBAT))
	c := rawDial(t, ctx, us)
	data := make([]byte, rawPackets*rawPacketSize)
	_, _ = streamSource(seedOurs).Read(data)
	_, err := c.ours.Write(data) // fits the send buffer: returns at once
	must(t, "we write 40 packets", err)
	return newRawStream(c), data
}

// firstDifference names the first packet whose payload is not the
// data's, with its length, and our side's counters: an empty DATA
// packet, say, is a path MTU probe or a zero-window probe.
func (s *rawStream) firstDifference(data []byte) string {
	for i := range rawPackets {
		p, want := s.got[s.isn+uint16(i)], data[i*rawPacketSize:(i+1)*rawPacketSize]
		if string(p) != string(want) {
			return fmt.Sprintf("packet %d of %d carries %d bytes, want %d; our side: %+v", i, rawPackets, len(p), len(want), s.ours.Stats())
		}
	}
	return "every packet matches"
}

// finish acknowledges everything until all packets arrived, checks the
// bytes, and checks that the connection still carries data both ways.
func (s *rawStream) finish(t *testing.T, data []byte) {
	t.Helper()
	s.ackInOrder("the rest arrives", rawPackets)
	if got := s.bytes(rawPackets); string(got) != string(data) {
		t.Fatalf("step %q: the %d bytes that arrived differ from those written (%s)", "data intact", len(got), s.firstDifference(data))
	}
	s.sendData("raw side sends pong", []byte("pong"))
	s.readOurs("we read pong", "pong")
	if st := s.ours.Stats(); st.PacketsMalformed != 0 || st.PacketsIgnored != 0 {
		t.Fatalf("step %q: %d malformed and %d ignored packets, want none", "every packet accepted", st.PacketsMalformed, st.PacketsIgnored)
	}
}

// TestRawSACKLengths: selective ACKs of any length are honoured. libutp
// sends 4-byte masks (utp_internal.cpp, send_ack), libtorrent sizes them
// to what it holds and has sent 1-byte masks; the length byte allows up
// to 255. A packet we sent is declared lost from the SACK alone (one
// STATE: no three duplicate ACKs), resent at once, and the stream then
// completes intact.
//
// The raw side must answer within our retransmission timeout (200 ms at
// least): a timeout would resend the packet before the SACK could. It
// does on an idle machine; when one did fire, the case runs again while
// a stall meter says the test process was starved (stallwatch.Measure),
// and fails when the process was healthy.
func TestRawSACKLengths(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 8, 17, 32, 33, 64, 128, 252, 255} {
		t.Run(fmt.Sprintf("%d_bytes", n), func(t *testing.T) {
			stallwatch.Measure(t, 5, func() []string { return rawSACKCase(t, n) })
		})
	}
}

// sackWindow is the congestion window, in packets, that rawSACKCase
// waits for before it withholds ACKs: the "lost" packet and the 8 after
// it are then sent without another ACK, with one to spare.
const sackWindow = 10

// rawSACKCase runs one mask length of TestRawSACKLengths. It returns a
// miss when our retransmission timer fired while the raw side had not
// answered, which only a starved process makes happen on loopback.
func rawSACKCase(t *testing.T, n int) []string {
	s, data := rawSender(t)
	if miss := s.ackUntilWindow("acked one by one until the window holds the lost packet and 8 more", sackWindow); miss != "" {
		return []string{miss}
	}
	lost := s.next
	timeouts := s.ours.Stats().Timeouts
	// Wait for the 8 packets after the "lost" one: a 1-byte mask
	// covers exactly those (bit i is lost+1+i, BEP 29).
	for !s.haveAll(lost+1, 8) {
		s.pump("8 packets after the lost one")
		if st := s.ours.Stats(); st.Timeouts != timeouts {
			return []string{fmt.Sprintf("our retransmission timer (%v) fired while the raw side waited for the 8 packets after the lost one", st.RTO)}
		}
	}
	mask := make([]byte, n)
	for i := range n * 8 {
		if _, ok := s.got[lost+1+uint16(i)]; ok {
			mask[i/8] |= 1 << (i % 8)
		}
	}
	arrivals := func() int { // of the lost packet
		if s.got[lost] == nil {
			return 0
		}
		return 1 + s.resent[lost]
	}
	before := arrivals()
	s.state(fmt.Sprintf("STATE ack_nr %d with a %d-byte SACK", lost-1, n), lost-1, ext{extSACK, mask})
	for arrivals() == before {
		s.pump("the lost packet is resent")
	}
	if st := s.ours.Stats(); st.FastRetransmits == 0 {
		if st.Timeouts != timeouts {
			return []string{fmt.Sprintf("the lost packet was resent by our retransmission timer (%v) before our side had the SACK", st.RTO)}
		}
		t.Fatalf("step %q: resent without a fast retransmit or a timeout: the SACK was not used (%+v)", "SACK triggers the resend", st)
	}
	s.finish(t, data)
	return nil
}

// ackUntilWindow acknowledges in order, one STATE per DATA packet as
// ackInOrder does, until our congestion window holds packets full
// packets. How many ACKs that takes depends on timing: slow start grows
// the window only by what was in flight when an ACK came (cc.LEDBAT's
// growth cap), and a loaded machine delays sends. It returns a miss when
// our retransmission timer fired meanwhile (the window is then one packet
// again), and fails t when the window stays short with no timeout.
func (s *rawStream) ackUntilWindow(step string, packets int) (miss string) {
	s.t.Helper()
	timeouts := s.ours.Stats().Timeouts
	for {
		st := s.ours.Stats()
		switch {
		case st.Timeouts != timeouts:
			return fmt.Sprintf("step %q: our retransmission timer (%v) fired while the raw side acknowledged", step, st.RTO)
		case st.Window >= packets*(rawPacketSize+rawHeader):
			return ""
		}
		acked := int(uint16(s.advance() - s.isn))
		if acked+packets > rawPackets {
			s.t.Fatalf("step %q: the window is %d bytes after %d ACKs, want %d packets of %d bytes (%+v)",
				step, st.Window, acked, packets, rawPacketSize+rawHeader, st)
		}
		s.ackInOrder(step, acked+1)
	}
}

func (s *rawStream) haveAll(from uint16, n int) bool {
	for i := range n {
		if _, ok := s.got[from+uint16(i)]; !ok {
			return false
		}
	}
	return true
}

// TestRawKeepaliveIsNotDuplicateAck: libutp's keepalive is a STATE whose
// ack_nr is one less than its current one (utp_internal.cpp,
// send_keep_alive). Three of them while our data is in flight must not
// look like three duplicate ACKs; three real duplicates must.
func TestRawKeepaliveIsNotDuplicateAck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		offset    uint16 // subtracted from the current ack_nr
		wantFastR bool
	}{{"keepalives", 1, false}, {"duplicate_acks", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			stallwatch.Measure(t, 5, func() []string { return rawDupAckCase(t, tc.offset, tc.wantFastR) })
		})
	}
}

// rawDupAckCase runs one case of TestRawKeepaliveIsNotDuplicateAck. As
// rawSACKCase, it returns a miss when our retransmission timer fired
// while the raw side had not answered, which only a starved process
// makes happen on loopback.
func rawDupAckCase(t *testing.T, offset uint16, wantFastR bool) []string {
	s, data := rawSender(t)
	if miss := s.ackUntilWindow("acked one by one until the window holds 6 packets", 6); miss != "" {
		return []string{miss}
	}
	x := s.next
	timeouts := s.ours.Stats().Timeouts
	for !s.haveAll(x, 5) {
		s.pump("5 more packets in flight")
	}
	s.ack = x
	s.state("ack one more", x)
	for i := range 3 {
		s.state(fmt.Sprintf("STATE #%d with ack_nr %d", i+1, x-offset), x-offset)
	}
	must(t, "our side takes in the four", waitFor(progressBound, s.processedAll))
	st := s.ours.Stats()
	if st.Timeouts != timeouts {
		return []string{fmt.Sprintf("our retransmission timer (%v) fired while the raw side sent its STATEs", st.RTO)}
	}
	if fr := st.FastRetransmits; (fr > 0) != wantFastR {
		t.Fatalf("step %q: %d fast retransmits after three STATEs with ack_nr %d (current %d)", "three STATEs", fr, x-offset, x)
	}
	s.ackInOrder("the rest arrives", rawPackets)
	if got := s.bytes(rawPackets); string(got) != string(data) {
		t.Fatalf("step %q: bytes differ (%s)", "data intact", s.firstDifference(data))
	}
	return nil
}

// TestRawResetAddressing: a RESET may carry either of our connection ids.
// libutp answers a packet for a connection it does not know with a RESET
// carrying that packet's connection id (utp_internal.cpp, utp_process_udp
// and send_rst), which is our send id; its own lookup of a RESET tries the
// id as receive id and as send id. A RESET with an unrelated id is ignored.
// Its ack_nr is the seq_nr of the packet it answers, here our latest
// STATE's, our next sequence number (docs/security.md: other values are
// challenged, not honoured).
func TestRawResetAddressing(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   func(c *rawConn) uint16
	}{
		{"our_send_id", func(c *rawConn) uint16 { return c.recvID }},
		{"our_receive_id", func(c *rawConn) uint16 { return c.recvID + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, testCtx(t, 20*time.Second), listenOurs(t))
			c.send("RESET with an unrelated id", hdr{typ: stReset, connID: c.recvID + 7, seq: 1, ack: c.ack}, nil)
			c.sendData("then DATA", []byte("still here"))
			c.readOurs("the connection still works", "still here")
			c.send("RESET with "+tc.name, hdr{typ: stReset, connID: tc.id(c), seq: 1, ack: c.isn}, nil)
			_, err := c.ours.Read(make([]byte, 1))
			if !errors.Is(err, utp.ErrConnReset) {
				t.Fatalf("step %q: read returned %v, want ErrConnReset", "reset ends the connection", err)
			}
		})
	}
}

// TestRawDialerHandshake: what our dialer sends. The SYN carries our
// receive id and a non-zero wnd_size (libutp's acceptor takes its send
// window from it, utp_internal.cpp, utp_process_incoming). After the
// acceptor's STATE, our packets carry our send id (receive id + 1) and
// ack_nr = the STATE's seq_nr - 1, since the acceptor's first DATA
// carries that same seq_nr; our first DATA follows the SYN's seq_nr.
func TestRawDialerHandshake(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	us := listenOurs(t)
	r := newRawPeer(t, ctx, nil)
	dialed := make(chan *utp.Conn, 1)
	go func() {
		c, err := us.DialUTP(ctx, r.addr())
		if err != nil {
			t.Errorf("step %q: %v", "we dial", err)
		}
		dialed <- c
	}()
	syn, _ := r.recv("our SYN", progressBound)
	if syn.typ != stSyn || syn.wnd == 0 {
		t.Fatalf("step %q: got %v, want a SYN with a non-zero window", "our SYN", syn)
	}
	// Our datagram-size extension (id 77, version 1, no flags, 65,535
	// bytes read whole), behind 8 zero bytes of extension 2: libutp drops
	// a packet whose first extension id is 3 or more (docs/protocol.md).
	wantExts := []ext{{extBits, make([]byte, 8)}, {77, []byte{1, 0, 0, 0, 0xff, 0xff}}}
	if !slices.EqualFunc(syn.exts, wantExts, func(a, b ext) bool { return a.typ == b.typ && bytes.Equal(a.data, b.data) }) {
		t.Fatalf("step %q: extensions %v, want %v", "our SYN", syn.exts, wantExts)
	}
	const acceptorISN = 5000
	ourRecv, ourSend := syn.connID, syn.connID+1
	r.send("raw acceptor answers", hdr{typ: stState, connID: ourRecv, wnd: rawWnd, seq: acceptorISN, ack: syn.seq}, nil)
	c := <-dialed
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(func() { c.Close() })
	must(t, "set deadline", c.SetDeadline(time.Now().Add(10*time.Second)))
	confirm, _ := r.recv("our confirmation", progressBound)
	if confirm.connID != ourSend || confirm.ack != acceptorISN-1 {
		t.Fatalf("step %q: got %v, want connection id %d and ack_nr %d", "our confirmation", confirm, ourSend, acceptorISN-1)
	}
	firstData := syn.seq + 1
	if confirm.typ == stData {
		firstData++ // an empty DATA, as go-libutp's dialer sends, consumes a number
	}
	ourLast := syn.seq // the last sequence number we consumed
	if confirm.typ == stData {
		ourLast = confirm.seq
	}
	r.send("raw acceptor sends DATA", hdr{typ: stData, connID: ourRecv, wnd: rawWnd, seq: acceptorISN, ack: ourLast}, []byte("hello"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("step %q: read %q, %v", "we read the acceptor's first DATA", buf, err)
	}
	_, err := c.Write([]byte("world"))
	must(t, "we write", err)
	h, p := r.expect("our first DATA", progressBound, func(h hdr, _ []byte) bool { return h.typ == stData && h.seq == firstData })
	if h.connID != ourSend || h.ack != acceptorISN || string(p) != "world" {
		t.Fatalf("step %q: got %v %q, want id %d, ack_nr %d, \"world\"", "our first DATA", h, p, ourSend, acceptorISN)
	}
}

// TestRawSYNZeroWindow: a SYN may advertise wnd_size 0; we read it as one
// packet, so that our acceptor can still speak first. A dialer that sends
// nothing after its SYN is asked to prove its address with an empty DATA
// carrying the STATE's seq_nr (docs/security.md); acknowledging it proves
// it, and the banner follows.
func TestRawSYNZeroWindow(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	us := listenOurs(t)
	r := newRawPeer(t, ctx, us.Addr())
	r.send("SYN with wnd_size 0", hdr{typ: stSyn, connID: 40000, wnd: 0, seq: 7}, nil)
	reply, _ := r.recv("acceptor answers", progressBound)
	req, p := r.expect("the proof request", progressBound, func(h hdr, _ []byte) bool { return h.typ == stData })
	if req.seq != reply.seq || len(p) != 0 {
		t.Fatalf("step %q: got %v %q, want an empty DATA with seq_nr %d (the STATE's)", "the proof request", req, p, reply.seq)
	}
	r.send("the dialer acknowledges it", hdr{typ: stState, connID: 40001, wnd: 0, seq: 8, ack: req.seq}, nil)
	acc, err := acceptCtx(ctx, us.Accept)
	must(t, "we accept", err)
	t.Cleanup(func() { acc.Close() })
	_, err = acc.Write([]byte("banner"))
	must(t, "we write a banner first", err)
	h, p := r.expect("the banner arrives", progressBound, func(h hdr, _ []byte) bool { return h.typ == stData })
	if h.seq != reply.seq+1 || string(p) != "banner" {
		t.Fatalf("step %q: got %v %q, want seq_nr %d (after the request) and \"banner\"", "the banner arrives", h, p, reply.seq+1)
	}
}

// TestRawFIN: the FIN has its own sequence number, one past the last DATA;
// data before it is delivered even when the FIN overtakes it, then EOF.
// Our FIN, likewise, follows our last DATA's number.
func TestRawFIN(t *testing.T) {
	c := rawDial(t, testCtx(t, 20*time.Second), listenOurs(t))
	dataSeq := c.seq
	c.seq++ // send the FIN first
	c.send("FIN overtakes the last DATA", hdr{typ: stFin, connID: c.recvID + 1, wnd: rawWnd, seq: c.seq, ack: c.ack}, nil)
	c.send("the last DATA", hdr{typ: stData, connID: c.recvID + 1, wnd: rawWnd, seq: dataSeq, ack: c.ack}, []byte("last"))
	c.readOurs("we read the last DATA", "last")
	if n, err := c.ours.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("step %q: read %d, %v", "then EOF", n, err)
	}
	c.expect("our ACK covers the FIN", progressBound, func(h hdr, _ []byte) bool { return h.typ == stState && h.ack == c.seq })
	_, err := c.ours.Write([]byte("bye"))
	must(t, "we write after their FIN", err)
	must(t, "we half-close", c.ours.CloseWrite())
	d, _ := c.expect("our DATA", progressBound, func(h hdr, _ []byte) bool { return h.typ == stData })
	f, _ := c.expect("our FIN", progressBound, func(h hdr, _ []byte) bool { return h.typ == stFin })
	if f.seq != d.seq+1 {
		t.Fatalf("step %q: FIN seq_nr %d after DATA %d, want %d", "our FIN numbering", f.seq, d.seq, d.seq+1)
	}
}

// TestRawExtensions: extensions other than SACK are skipped by their
// length, wherever they are in the chain, and the payload after the chain
// is delivered intact. libutp parses extension 2 (8 bytes of extension
// bits) and skips any other type (utp_internal.cpp, utp_process_incoming);
// libtorrent sends extension 3 (close reason, 4 bytes), first in the chain
// when there is no SACK.
func TestRawExtensions(t *testing.T) {
	bits := ext{extBits, make([]byte, 8)}
	sack := ext{extSACK, make([]byte, 4)}
	reason := ext{extCloseReason, []byte{0, 0, 0, 2}} // libtorrent close_reason_t torrent_removed
	cases := []struct {
		name  string
		exts  []ext
		onSYN bool // libtorrent sets a close reason only on closing
	}{
		{"extension_bits", []ext{bits}, true},
		{"sack_then_extension_bits", []ext{sack, bits}, true},
		{"extension_bits_then_sack", []ext{bits, sack}, true},
		{"close_reason", []ext{reason}, false},
		{"sack_then_close_reason", []ext{sack, reason}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var synExts []ext
			if tc.onSYN {
				synExts = tc.exts
			}
			c := rawDial(t, testCtx(t, 20*time.Second), listenOurs(t), synExts...)
			c.ours.SetReadDeadline(time.Now().Add(3 * time.Second))
			c.send("DATA with "+tc.name, hdr{typ: stData, connID: c.recvID + 1, wnd: rawWnd, seq: c.seq, ack: c.ack, exts: tc.exts}, []byte("payload"))
			c.seq++
			c.readOurs("we read the payload", "payload")
			c.send("FIN with "+tc.name, hdr{typ: stFin, connID: c.recvID + 1, wnd: rawWnd, seq: c.seq, ack: c.ack, exts: tc.exts}, nil)
			if n, err := c.ours.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
				t.Fatalf("step %q: read %d, %v; want EOF", "the FIN is honoured", n, err)
			}
		})
	}
}
