package utp

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// The largest packet WithPacketSize allows, with the largest header the
// state machine writes, fits one IPv4 UDP datagram and a packet buffer.
func TestMaxPacketSizeFitsDatagram(t *testing.T) {
	m := proto.Dial(time.Now(), proto.Config{PacketSize: maxPacketSize}, 1, 1)
	if got := m.MaxDatagram(); got > 65507 || got > maxDatagram {
		t.Fatalf("a %d-byte payload makes datagrams of up to %d bytes: over the UDP limit (65507) or the buffer (%d)",
			maxPacketSize, got, maxDatagram)
	}
}

// A packet size beyond what a datagram carries is clamped: a transfer
// over UDP loopback works, and no datagram is refused as too long.
func TestUDPPacketSizeClamped(t *testing.T) {
	checkLeaks(t)
	a := listenUDP(t, WithPacketSize(100000))
	b := listenUDP(t, WithPacketSize(100000))
	if got := a.packetSize(b.Addr(), false); got != maxPacketSize {
		t.Fatalf("packet size %d, want it clamped to %d", got, maxPacketSize)
	}
	ca, cb := dialAcceptB(t, a, b)
	// A datagram too long for UDP fails to send every time: the transfer
	// would then stall, and the deadlines end the test.
	ca.SetDeadline(time.Now().Add(10 * time.Second))
	cb.SetDeadline(time.Now().Add(10 * time.Second))
	data := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{2}).Read(data)
	errc := make(chan error, 1)
	go func() {
		_, err := ca.Write(data)
		if err == nil {
			err = ca.CloseWrite()
		}
		errc <- err
	}()
	got, err := io.ReadAll(cb)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(data), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.SendErrors != 0 {
		t.Fatalf("%d datagrams failed to send: %+v", st.SendErrors, st)
	}
	ca.Close()
	cb.Close()
}
