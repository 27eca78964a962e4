package utp

import (
	"context"
	"testing"
	"time"
)

// Unacknowledged counts what was written and not yet acknowledged: more
// than zero while a peer that does not read holds up the window, zero
// once Drain has returned.
func TestUnacknowledged(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	accepted := acceptOne(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialUTP(ctx, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	// More than the peer's receive window and our send buffer together:
	// the peer reads nothing, so the Write fills both and stops at its
	// deadline with the send buffer's worth unacknowledged.
	data := make([]byte, 32<<20)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	n, _ := c.Write(data)
	if u := c.Unacknowledged(); u <= 0 || u > n {
		t.Fatalf("wrote %d bytes, %d unacknowledged", n, u)
	}
	c.SetWriteDeadline(time.Time{})
	go func() { // now read everything
		buf := make([]byte, 64<<10)
		for {
			if _, err := peer.Read(buf); err != nil {
				return
			}
		}
	}()
	if err := c.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if u := c.Unacknowledged(); u != 0 {
		t.Fatalf("%d bytes unacknowledged after Drain", u)
	}
}
