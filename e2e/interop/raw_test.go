package interop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// This file speaks BEP 29 by hand from a plain UDP socket, to send our
// Socket what other implementations send and check what it answers. The
// codec is the test's own: utp/internal/wire is not importable from here,
// and an independent encoding is what an interop test wants anyway.

// Extension types. 1 and 2 are BEP 29 and libutp's (utp_internal.cpp,
// utp_process_incoming: "case 1: Selective Acknowledgment", "case 2:
// extension bits", 8 bytes). 3 is libtorrent's close reason, 4 bytes
// (libtorrent utp_stream.hpp, utp_extensions_t; utp_stream.cpp, send_pkt
// puts it first when there is no SACK).
const (
	extSACK        = 1
	extBits        = 2
	extCloseReason = 3
)

type ext struct {
	typ  byte
	data []byte
}

// hdr is a BEP 29 header plus its extension chain.
type hdr struct {
	typ        int
	connID     uint16
	ts, tsDiff uint32
	wnd        uint32
	seq, ack   uint16
	exts       []ext
}

func (h hdr) String() string {
	return fmt.Sprintf("%s id %d seq %d ack %d wnd %d", typeNames[h.typ], h.connID, h.seq, h.ack, h.wnd)
}

// encode lays out the 20-byte header (BEP 29: type and version, first
// extension, connection_id, timestamp_microseconds,
// timestamp_difference_microseconds, wnd_size, seq_nr, ack_nr; all big
// endian), then each extension as (next type, length, data), then payload.
func (h hdr) encode(payload []byte) []byte {
	b := make([]byte, 20)
	b[0] = byte(h.typ)<<4 | 1
	if len(h.exts) > 0 {
		b[1] = h.exts[0].typ
	}
	binary.BigEndian.PutUint16(b[2:], h.connID)
	binary.BigEndian.PutUint32(b[4:], h.ts)
	binary.BigEndian.PutUint32(b[8:], h.tsDiff)
	binary.BigEndian.PutUint32(b[12:], h.wnd)
	binary.BigEndian.PutUint16(b[16:], h.seq)
	binary.BigEndian.PutUint16(b[18:], h.ack)
	for i, e := range h.exts {
		next := byte(0)
		if i+1 < len(h.exts) {
			next = h.exts[i+1].typ
		}
		b = append(b, next, byte(len(e.data)))
		b = append(b, e.data...)
	}
	return append(b, payload...)
}

func decode(b []byte) (hdr, []byte, error) {
	var h hdr
	typ, ok := utpType(b)
	if !ok {
		return h, nil, fmt.Errorf("not uTP: % x", b[:min(len(b), 20)])
	}
	h.typ = typ
	h.connID = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.tsDiff = binary.BigEndian.Uint32(b[8:])
	h.wnd = binary.BigEndian.Uint32(b[12:])
	h.seq = binary.BigEndian.Uint16(b[16:])
	h.ack = binary.BigEndian.Uint16(b[18:])
	next, rest := b[1], b[20:]
	for next != 0 {
		if len(rest) < 2 || len(rest) < 2+int(rest[1]) {
			return h, nil, errors.New("truncated extension chain")
		}
		h.exts = append(h.exts, ext{next, rest[2 : 2+int(rest[1])]})
		next, rest = rest[0], rest[2+int(rest[1]):]
	}
	return h, rest, nil
}

func micros() uint32 { return uint32(time.Now().UnixMicro()) }

// rawPeer is a hand-driven uTP endpoint on a plain UDP socket.
type rawPeer struct {
	t    *testing.T
	ctx  context.Context
	pc   *net.UDPConn
	to   *net.UDPAddr
	last hdr // the last packet received, for timestamp_difference
	sent int // packets sent
}

func newRawPeer(t *testing.T, ctx context.Context, to net.Addr) *rawPeer {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, "open raw socket", err)
	t.Cleanup(func() { pc.Close() })
	r := &rawPeer{t: t, ctx: ctx, pc: pc}
	if to != nil {
		r.to = udpAddr(to)
	}
	return r
}

func (r *rawPeer) addr() *net.UDPAddr { return udpAddr(r.pc.LocalAddr()) }

// send fills in the timestamps, as a real peer would, and sends.
func (r *rawPeer) send(step string, h hdr, payload []byte) {
	r.t.Helper()
	h.ts = micros()
	if r.last.ts != 0 {
		h.tsDiff = h.ts - r.last.ts
	}
	if _, err := r.pc.WriteToUDP(h.encode(payload), r.to); err != nil {
		r.t.Fatalf("step %q: send %v: %v", step, h, err)
	}
	r.sent++
}

// recv returns the next uTP packet, failing the step after within.
func (r *rawPeer) recv(step string, within time.Duration) (hdr, []byte) {
	r.t.Helper()
	buf := make([]byte, 1<<16)
	deadline := time.Now().Add(within)
	if dl, ok := r.ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = r.pc.SetReadDeadline(deadline)
	n, from, err := r.pc.ReadFromUDP(buf)
	if err != nil {
		r.t.Fatalf("step %q: no packet: %v", step, err)
	}
	if r.to == nil {
		r.to = from
	}
	h, payload, err := decode(buf[:n])
	if err != nil {
		r.t.Fatalf("step %q: %v", step, err)
	}
	r.last = h
	return h, append([]byte(nil), payload...)
}

// expect receives packets until one satisfies want, skipping others
// (such as delayed ACKs).
func (r *rawPeer) expect(step string, within time.Duration, want func(hdr, []byte) bool) (hdr, []byte) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			r.t.Fatalf("step %q: no matching packet within %v", step, within)
		}
		h, p := r.recv(step, left)
		if want(h, p) {
			return h, p
		}
	}
}

// rawConn is a connection between a rawPeer, as dialer, and our Socket.
type rawConn struct {
	*rawPeer
	ours   *utp.Conn
	recvID uint16 // the raw side's receive id; it sends with recvID+1
	seq    uint16 // the raw side's next sequence number
	ack    uint16 // the raw side's ack_nr: our last in-order sequence number
	isn    uint16 // our initial sequence number (the STATE's seq_nr)
	// rxBase is our side's PacketsReceived less the raw side's packets
	// once both agree (processedAll).
	rxBase int
}

// processedAll reports whether our side has taken in every packet the
// raw side sent.
func (c *rawConn) processedAll() bool {
	return int(c.ours.Stats().PacketsReceived)-c.rxBase >= c.sent
}

const rawWnd = 1 << 20

// rawDial opens a connection from a raw dialer to our Socket and checks
// the acceptor's reply field by field (docs/interop.md, Handshake). The
// raw side confirms with a DATA packet ("ping"), so that our acceptor has
// heard from it.
func rawDial(t *testing.T, ctx context.Context, us *utp.Socket, synExts ...ext) *rawConn {
	t.Helper()
	r := newRawPeer(t, ctx, us.Addr())
	c := &rawConn{rawPeer: r, recvID: 30000, seq: 1000}
	// A timestamp far from ours makes a wrong timestamp_difference visible.
	const synTS = 12345
	syn := hdr{typ: stSyn, connID: c.recvID, wnd: rawWnd, seq: c.seq, exts: synExts}
	b := syn.encode(nil)
	binary.BigEndian.PutUint32(b[4:], synTS)
	if _, err := r.pc.WriteToUDP(b, r.to); err != nil {
		t.Fatalf("step %q: %v", "send SYN", err)
	}
	r.sent++
	reply, _ := r.recv("acceptor answers the SYN", progressBound)
	switch {
	case reply.typ != stState:
		t.Fatalf("step %q: reply %v, want STATE", "acceptor answers the SYN", reply)
	case reply.connID != c.recvID:
		t.Fatalf("step %q: reply connection id %d, want the SYN's %d (the dialer's receive id)", "reply id", reply.connID, c.recvID)
	case reply.ack != c.seq:
		t.Fatalf("step %q: reply ack_nr %d, want the SYN's seq_nr %d", "reply ack_nr", reply.ack, c.seq)
	case reply.wnd == 0:
		t.Fatalf("step %q: reply advertises a zero window", "reply wnd_size")
	}
	// timestamp_difference is the receiver's clock at arrival minus the
	// sender's timestamp (BEP 29): here about reply.ts - synTS.
	if d := int32(reply.ts - synTS - reply.tsDiff); d < -1e6 || d > 1e6 {
		t.Fatalf("step %q: timestamp_difference %d, want about %d (our clock %d minus the SYN's %d)",
			"reply timestamp_difference", reply.tsDiff, reply.ts-synTS, reply.ts, synTS)
	}
	c.isn = reply.seq
	c.ack = reply.seq - 1 // the STATE's seq_nr is not consumed: our first DATA carries it
	c.seq++
	// The ping proves our address (its ack_nr echoes the reply): Accept
	// returns a connection only then.
	c.sendData("raw dialer sends ping", []byte("ping"))
	acc, err := acceptCtx(ctx, us.Accept)
	must(t, "we accept", err)
	c.ours = acc.(*utp.Conn)
	t.Cleanup(func() { c.ours.Close() })
	dl, _ := ctx.Deadline()
	must(t, "set deadline", c.ours.SetDeadline(dl))
	c.readOurs("we read ping", "ping")
	// Our side has read the ping, so it has taken in the SYN and the
	// ping, and nothing else.
	c.rxBase = int(c.ours.Stats().PacketsReceived) - r.sent
	return c
}

// sendData sends one DATA packet with the next sequence number.
func (c *rawConn) sendData(step string, payload []byte) {
	c.t.Helper()
	c.send(step, hdr{typ: stData, connID: c.recvID + 1, wnd: rawWnd, seq: c.seq, ack: c.ack}, payload)
	c.seq++
}

// state sends a STATE with the given ack_nr and extensions.
func (c *rawConn) state(step string, ack uint16, exts ...ext) {
	c.t.Helper()
	c.send(step, hdr{typ: stState, connID: c.recvID + 1, wnd: rawWnd, seq: c.seq, ack: ack, exts: exts}, nil)
}

func (c *rawConn) readOurs(step, want string) {
	c.t.Helper()
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(c.ours, buf); err != nil || string(buf) != want {
		c.t.Fatalf("step %q: read %q, %v; want %q", step, buf, err, want)
	}
}
