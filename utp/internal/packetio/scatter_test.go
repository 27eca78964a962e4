package packetio_test

import (
	"bytes"
	"testing"
	"testing/synctest"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// ReadScatter places the bytes at offsets at to at+len(body) in body and
// the others in buf at their own offsets, whether body is shorter than
// what follows the header (the rest lands after it in buf) or longer
// (it takes all of it), and with TryRead's no-wait rule; a Read of the
// same endpoint afterwards reads into one buffer again.
func TestReadScatter(t *testing.T) {
	for name, open := range wakeCases(t) {
		if name == "generic" {
			continue // one datagram per call, no Scatterer
		}
		t.Run(name, func(t *testing.T) {
			body := func(t *testing.T, wait func()) {
				c, send := open()
				defer c.Close()
				sc, ok := c.(packetio.Scatterer)
				if !ok {
					t.Fatalf("%T is not a Scatterer", c)
				}
				d := make([]byte, 300)
				for i := range d {
					d[i] = byte(i)
				}
				buf := make([]byte, packetio.MaxDatagram)
				for _, tc := range []struct {
					bodyLen int
					wait    bool
				}{{100, true}, {1000, false}, {100, false}} {
					send(d)
					wait()
					into := make([]byte, tc.bodyLen)
					n, seg, _, err := sc.ReadScatter(buf, 20, into, tc.wait)
					if err != nil || n != len(d) || seg != 0 {
						t.Fatalf("body %d: ReadScatter = %d, %d, %v; want %d bytes, one datagram", tc.bodyLen, n, seg, err, len(d))
					}
					k := min(tc.bodyLen, n-20)
					if !bytes.Equal(buf[:20], d[:20]) || !bytes.Equal(into[:k], d[20:20+k]) || !bytes.Equal(buf[20+k:n], d[20+k:]) {
						t.Fatalf("body %d: bytes out of place:\nhead %v\nbody %v\nrest %v", tc.bodyLen, buf[:20], into[:k], buf[20+k:n])
					}
				}
				send([]byte("plain"))
				wait()
				if n, _, _, err := c.Read(buf); err != nil || string(buf[:n]) != "plain" {
					t.Fatalf("Read after ReadScatter: %q, %v", buf[:n], err)
				}
			}
			if name == "udp" {
				body(t, func() {}) // loopback queues the datagram within the send
				return
			}
			synctest.Test(t, func(t *testing.T) { body(t, synctest.Wait) })
		})
	}
}
