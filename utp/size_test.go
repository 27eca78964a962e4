package utp

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Packet sizes between Sockets and toward peers that do not speak the
// datagram-size extension (size.go). The peers here are raw UDP sockets
// that read with a 64 KiB buffer, so that a datagram longer than a real
// client reads is seen whole and fails the test.

// Two Sockets on UDP loopback advertise that they read any datagram, and
// use the loopback ceiling both ways: today's large packets are kept.
func TestSizeNegotiatedOnLoopback(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	ca, cb := dialAcceptB(t, a, b)
	defer ca.Close()
	defer cb.Close()
	want := loopbackPacketSize
	for name, c := range map[string]*Conn{"dialer": ca, "acceptor": cb} {
		st := c.Stats()
		if st.PacketSize != want || st.PeerMaxDatagram != maxRecvDatagram {
			t.Errorf("%s: packet size %d, peer reads %d; want %d and %d",
				name, st.PacketSize, st.PeerMaxDatagram, want, maxRecvDatagram)
		}
	}
}

// WithMaxDatagram sets both what a Socket advertises and its ceiling; the
// smaller side's value wins.
func TestSizeWithMaxDatagram(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t, WithMaxDatagram(9000)), listenUDP(t)
	ca, cb := dialAcceptB(t, a, b)
	defer ca.Close()
	defer cb.Close()
	if st := ca.Stats(); st.PacketSize != 9000-maxOverhead {
		t.Errorf("dialer: packet size %d, want its ceiling %d", st.PacketSize, 9000-maxOverhead)
	}
	if st := cb.Stats(); st.PacketSize != 9000-maxOverhead || st.PeerMaxDatagram != 9000 {
		t.Errorf("acceptor: packet size %d toward a peer reading %d, want %d", st.PacketSize, st.PeerMaxDatagram, 9000-maxOverhead)
	}
}

// rawPeer is a uTP peer played by the test over a plain UDP socket.
type rawPeer struct {
	t  *testing.T
	pc *net.UDPConn
}

func newRawPeer(t *testing.T) *rawPeer {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &rawPeer{t: t, pc: pc}
}

// read returns the next uTP datagram, whole, and its sender.
func (p *rawPeer) read() (wire.Header, []byte, *net.UDPAddr) {
	p.t.Helper()
	buf := make([]byte, 1<<16)
	p.pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, from, err := p.pc.ReadFromUDP(buf)
	if err != nil {
		p.t.Fatalf("raw peer: %v", err)
	}
	h, _, err := wire.Parse(buf[:n])
	if err != nil {
		p.t.Fatalf("raw peer got a datagram that is not uTP: %v", err)
	}
	return h, buf[:n], from
}

func (p *rawPeer) send(h wire.Header, to net.Addr) {
	p.t.Helper()
	if _, err := p.pc.WriteTo(h.Append(nil), to); err != nil {
		p.t.Fatal(err)
	}
}

// receive reads DATA until want payload bytes arrived, acknowledging each
// in-order packet, and checks that no datagram exceeds limit and that full
// ones carry exactly full bytes.
func (p *rawPeer) receive(want, limit, full int, ack wire.Header, to net.Addr) {
	p.t.Helper()
	got, fulls := 0, 0
	for got < want {
		h, raw, _ := p.read()
		if len(raw) > limit {
			p.t.Fatalf("a %d-byte datagram (%v seq=%d) toward a peer that reads %d", len(raw), h.Type, h.SeqNr, limit)
		}
		if h.Type != wire.Data || h.SeqNr != ack.AckNr+1 {
			continue
		}
		n := len(raw) - h.Len()
		if n > full {
			p.t.Fatalf("payload of %d bytes, want at most %d", n, full)
		}
		if n == full {
			fulls++
		}
		got += n
		ack.AckNr = h.SeqNr
		p.send(ack, to)
	}
	if fulls == 0 {
		p.t.Fatalf("no packet of the full %d bytes among %d received", full, got)
	}
}

// dial has the raw peer dial s with connection id id, advertising that
// it reads reads bytes (0: no advertisement), and confirm the handshake
// with an empty DATA (seq_nr 2), as libutp's dialer must before the
// acceptor sends more than one packet. It returns the accepted Conn, our
// reply to the SYN (parsed and raw), the peer's ACK header to send
// from then on, and our address.
func (p *rawPeer) dial(s *Socket, id uint16, reads uint32) (c *Conn, reply wire.Header, raw []byte, ack wire.Header, from *net.UDPAddr) {
	p.t.Helper()
	accepted := make(chan *Conn, 1)
	go func() {
		c, _ := s.AcceptUTP()
		accepted <- c
	}()
	p.send(wire.Header{Type: wire.Syn, ConnID: id, WndSize: 1 << 20, SeqNr: 1, MaxDatagram: reads}, s.Addr())
	reply, raw, from = p.read()
	ack = wire.Header{Type: wire.State, ConnID: id + 1, WndSize: 1 << 20, SeqNr: 3, AckNr: reply.SeqNr - 1}
	confirm := ack
	confirm.Type, confirm.SeqNr = wire.Data, 2
	p.send(confirm, from)
	if c = <-accepted; c == nil {
		p.t.FailNow()
	}
	return c, reply, raw, ack, from
}

// writeAsync writes n bytes to c in the background; the test's end closes
// c, which ends the write.
func writeAsync(c *Conn, n int) {
	go c.Write(make([]byte, n))
}

// Our dialer's SYN advertises what it reads, behind an extension id
// libutp accepts first; toward an acceptor that answers without the
// extension (every other implementation) no datagram exceeds 1,500 bytes,
// even on loopback.
func TestSizeTowardPlainAcceptor(t *testing.T) {
	checkLeaks(t)
	s, peer := listenUDP(t), newRawPeer(t)
	dialed := make(chan *Conn, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := s.DialUTP(ctx, peer.pc.LocalAddr())
		if err != nil {
			t.Error(err)
		}
		dialed <- c
	}()
	syn, raw, from := peer.read()
	if syn.Type != wire.Syn || syn.MaxDatagram != maxRecvDatagram || raw[1] >= 3 {
		t.Fatalf("SYN %v advertising %d with first extension %d; want a SYN advertising %d behind an id below 3",
			syn.Type, syn.MaxDatagram, raw[1], maxRecvDatagram)
	}
	ack := wire.Header{Type: wire.State, ConnID: syn.ConnID, WndSize: 1 << 20, SeqNr: 100, AckNr: syn.SeqNr}
	peer.send(ack, from)
	c := <-dialed
	if c == nil {
		t.FailNow()
	}
	defer c.Close()
	writeAsync(c, 1<<20)
	peer.receive(64<<10, proto.CommonDatagram, proto.CommonDatagram-maxOverhead, ack, from)
}

// Our acceptor answers a plain SYN plainly and sends such a dialer no
// datagram over 1,500 bytes; a dialer that advertises a size gets our
// advertisement back and packets up to its size.
func TestSizeTowardDialer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reads uint32 // what the raw dialer advertises
		limit int    // largest datagram we may send it
	}{
		{"plain", 0, proto.CommonDatagram},
		{"advertising 9000", 9000, 9000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			s, peer := listenUDP(t), newRawPeer(t)
			const id = 7
			c, reply, raw, ack, from := peer.dial(s, id, tc.reads)
			defer c.Close()
			wantAdv := uint32(0)
			if tc.reads != 0 {
				wantAdv = maxRecvDatagram
			}
			if reply.Type != wire.State || reply.ConnID != id || reply.MaxDatagram != wantAdv || (wantAdv == 0 && len(raw) != wire.HeaderSize) {
				t.Fatalf("reply %v conn %d advertising %d in %d bytes; want STATE conn %d advertising %d",
					reply.Type, reply.ConnID, reply.MaxDatagram, len(raw), id, wantAdv)
			}
			writeAsync(c, 1<<20)
			peer.receive(64<<10, tc.limit, tc.limit-maxOverhead, ack, from)
		})
	}
}

// WithMaxDatagram is taken within [576, 65,535]; 0 restores the default,
// which over UDP advertises any datagram and keeps the loopback ceiling.
func TestSizeWithMaxDatagramBounds(t *testing.T) {
	checkLeaks(t)
	loop := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	for _, tc := range []struct {
		n, reads, ceiling int
	}{
		{100, 576, 576 - maxOverhead},
		{100000, 65535, 65535 - maxOverhead},
		{9000, 9000, 9000 - maxOverhead},
		{0, maxRecvDatagram, loopbackPacketSize},
	} {
		s := listenUDP(t, WithMaxDatagram(12345), WithMaxDatagram(tc.n))
		if got, ceil := s.recvDatagram(), s.packetSize(loop, false); got != tc.reads || ceil != tc.ceiling {
			t.Errorf("WithMaxDatagram(%d): advertises %d with ceiling %d, want %d and %d", tc.n, got, ceil, tc.reads, tc.ceiling)
		}
		s.Close()
	}
}
