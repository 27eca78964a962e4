package packetio_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// TryRead never waits: an empty endpoint answers ErrWouldBlock; one with
// a datagram queued returns it (UDP, netsim); the generic endpoint, which
// cannot tell, always answers ErrWouldBlock; a Wake is reported by
// TryRead or by the next Read, never lost.
func TestTryRead(t *testing.T) {
	for name, open := range wakeCases(t) {
		t.Run(name, func(t *testing.T) {
			body := func(t *testing.T, wait func()) {
				c, send := open()
				defer c.Close()
				buf := make([]byte, packetio.MaxDatagram)
				if _, _, _, err := c.TryRead(buf); !errors.Is(err, packetio.ErrWouldBlock) {
					t.Fatalf("TryRead of an empty endpoint: %v, want ErrWouldBlock", err)
				}
				send([]byte("xy"))
				wait()
				n, _, _, err := c.TryRead(buf)
				if !c.Caps().TryRead {
					if !errors.Is(err, packetio.ErrWouldBlock) {
						t.Fatalf("TryRead without Caps.TryRead: %v, want ErrWouldBlock", err)
					}
					return
				}
				if err != nil || string(buf[:n]) != "xy" {
					t.Fatalf("TryRead with a datagram queued: %q, %v; want \"xy\"", buf[:n], err)
				}
				c.Wake()
				_, _, _, err = c.TryRead(buf)
				if errors.Is(err, packetio.ErrWoken) {
					return // reported here
				}
				if !errors.Is(err, packetio.ErrWouldBlock) {
					t.Fatalf("TryRead after Wake: %v, want ErrWoken or packetio.ErrWouldBlock", err)
				}
				if _, _, _, err := c.Read(buf); !errors.Is(err, packetio.ErrWoken) {
					t.Fatalf("Read after a Wake TryRead did not report: %v, want ErrWoken", err)
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
