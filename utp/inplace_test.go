package utp

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// Over UDP loopback, whose packets are 64 KiB, a Read with a large buffer
// has most of its bytes read straight into that buffer (inplace.go:
// Stats.BytesInPlace), and every byte arrives in order; Reads smaller
// than inPlaceMin never try, and get the same bytes.
func TestUDPReadsInPlace(t *testing.T) {
	checkLeaks(t)
	const size = 16 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>16)
	}
	for _, tc := range []struct {
		name     string
		readSize int
		inPlace  func(n uint64) bool
		want     string
	}{
		{"1MiB reads", 1 << 20, func(n uint64) bool { return n >= size/4 }, "at least a quarter of the bytes"},
		{"small reads", inPlaceMin / 2, func(n uint64) bool { return n == 0 }, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := listenUDP(t), listenUDP(t)
			ca, cb := dialAccept(t, a, b)
			defer ca.Close()
			defer cb.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			context.AfterFunc(ctx, func() { ca.Close(); cb.Close() }) // bound the wait, never hang
			// Each chunk is written once the last is read, so that Reads
			// find nothing buffered and wait, lending their buffers, even
			// where the reader is slower than the writer (a loaded
			// machine): else they read what the receive buffer holds.
			const chunk = 1 << 20
			next := make(chan struct{}, 1)
			go func() {
				for off := 0; off < size; off += chunk {
					if _, err := ca.Write(data[off : off+chunk]); err != nil {
						return
					}
					select {
					case <-next:
					case <-ctx.Done():
						return
					}
				}
			}()
			got := make([]byte, 0, size)
			buf := make([]byte, tc.readSize)
			for len(got) < size {
				n, err := cb.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					t.Fatalf("Read after %d of %d bytes: %v", len(got), size, err)
				}
				if len(got)%chunk == 0 {
					next <- struct{}{}
				}
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("the %d bytes read differ from those written", len(got))
			}
			st := cb.Stats()
			if !tc.inPlace(st.BytesInPlace) {
				t.Fatalf("BytesInPlace = %d of %d read; want %s", st.BytesInPlace, st.BytesRead, tc.want)
			}
			t.Logf("%d of %d bytes read in place", st.BytesInPlace, st.BytesRead)
		})
	}
}
