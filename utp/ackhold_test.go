package utp

import (
	"bytes"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Packets that are queued when the reader gets to them are answered
// together (ackhold.go): ten DATA packets sent while the connection's
// step is held up are all in the socket when the reader applies the
// first, and it acknowledges them with the held ACK it releases after
// maxHeldReads reads, and the last with the delayed ACK: two ACKs, where
// one for every second packet would be five.
func TestUDPHeldAckCoversQueuedReads(t *testing.T) {
	checkLeaks(t)
	s, peer := listenUDP(t), newRawPeer(t)
	c, _, _, ack, from := peer.dial(s, 7, 0)
	defer c.Close()
	for h, _, _ := peer.read(); h.Type != wire.State || h.AckNr != 2; h, _, _ = peer.read() {
		// The confirmation's delayed ACK, which must not land among
		// the ACKs counted below.
	}

	const packets = 10
	payload := bytes.Repeat([]byte{'x'}, 1000)
	c.mu.Lock() // the reader waits for it once it has read the first packet
	for i := range packets {
		h := ack
		h.Type, h.SeqNr = wire.Data, uint16(3+i)
		if _, err := peer.pc.WriteTo(append(h.Append(nil), payload...), from); err != nil {
			c.mu.Unlock()
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // only lets the reader reach the lock
	c.mu.Unlock()

	acks := 0
	for last := uint16(0); last != 2+packets; {
		h, _, _ := peer.read()
		if h.Type != wire.State {
			continue
		}
		acks++
		last = h.AckNr
	}
	if acks > 2 {
		t.Errorf("%d ACKs for %d packets queued together; want at most 2 (maxHeldReads %d)", acks, packets, maxHeldReads)
	}
	buf := make([]byte, packets*len(payload))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for n := 0; n < len(buf); {
		k, err := c.Read(buf[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
}
