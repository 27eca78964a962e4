package utp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Closing a Socket while its connection is sending as fast as it can
// resets the connection: the peer's Read fails with ErrConnReset rather
// than waiting to time out, even when the RESET is made while another
// goroutine holds the connection's sending role. Repeated, as the race
// it guards against depends on timing.
func TestSocketCloseResetsBusySender(t *testing.T) {
	checkLeaks(t)
	for i := range 5 {
		a, b := listenUDP(t), listenUDP(t)
		writerDone := make(chan struct{})
		go func() {
			defer close(writerDone)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := a.DialUTP(ctx, b.Addr())
			if err != nil {
				return
			}
			buf := make([]byte, 1<<20)
			for {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
		c, err := b.AcceptUTP()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64<<10)
		for n := 0; n < 8<<20; { // the sender is well under way
			k, err := c.Read(buf)
			if err != nil {
				t.Fatalf("run %d: read before the close: %v", i, err)
			}
			n += k
		}
		a.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second)) // bounds the test only
		for err == nil {
			_, err = c.Read(buf)
		}
		if !errors.Is(err, ErrConnReset) {
			t.Fatalf("run %d: after the peer's Socket closed, Read returned %v, want ErrConnReset", i, err)
		}
		<-writerDone
		b.Close()
	}
}
