//go:build linux

package shapes

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// A reader that stops reading for 30 s in the middle of a transfer and
// then resumes, through 10 Mbit/s and 40 ms: the sender fills the
// receiver's window and waits (zero window, probes), the connection is
// not ended by the idle timeout or the retransmission limit, and every
// byte arrives in order once the reader reads again.
func TestReaderPauses(t *testing.T) {
	const (
		total = 24 << 20
		pause = 30 * time.Second
	)
	p := newPath(t, realpath.Config{Rate: 10e6, Buffer: 100 * time.Millisecond, RTT: 40 * time.Millisecond,
		Prefix: "audit"})
	up, down := openSwarmEndpoints(t, p, ours)
	downAddr := &net.UDPAddr{IP: p.ReceiverAddr.AsSlice(), Port: addrPort(down.Addr())}
	ctx, cancel := context.WithTimeout(t.Context(), pause+2*time.Minute)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		c, err := up.Dial(ctx, downAddr)
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		_, err = c.Write(pattern(total))
		if err == nil {
			err = c.(*utp.Conn).CloseWrite()
		}
		sent <- err
	}()
	c, err := down.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	context.AfterFunc(ctx, func() { c.Close() })
	got := make([]byte, total)
	first := total / 8
	if _, err := io.ReadFull(c, got[:first]); err != nil {
		t.Fatal(err)
	}
	before := c.(*utp.Conn).Stats()
	time.Sleep(pause) // the reader stops
	during := c.(*utp.Conn).Stats()
	if _, err := io.ReadFull(c, got[first:]); err != nil {
		t.Fatalf("after the pause: %v", err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after the last byte: %d, %v; want io.EOF", n, err)
	}
	if !bytes.Equal(got, pattern(total)) {
		t.Fatal("bytes differ")
	}
	if err := <-sent; err != nil {
		t.Fatalf("sender: %v", err)
	}
	t.Logf("during the pause the reader's side received %d bytes and %d packets (window full after %d bytes read); the sender's Socket: %+v",
		during.BytesReceived-before.BytesReceived, during.PacketsReceived-before.PacketsReceived, first, up.(socketStats).Stats())
}

// pattern returns n bytes that differ from any shift of themselves.
func pattern(n int) []byte {
	b := make([]byte, n)
	fillBlock(b, 7, 11)
	return b
}
