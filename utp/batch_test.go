package utp

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// A batch keeps short headers in its own arena. When a queued batch
// takes in another's datagrams (join), their headers must be copied out
// of the other's arena, which goes back to the pool and is written over
// by its next step; where the taker's arena is full they move to pooled
// buffers. Arena copies are never mistaken for pooled buffers.
func TestBatchJoinKeepsArenaHeads(t *testing.T) {
	s := &Socket{}
	var o, other outBatch
	// Fill most of o's arena, so that some joined headers overflow it.
	filler := bytes.Repeat([]byte{0xee}, maxArenaHead)
	for cap(o.heads) < maxArena || len(o.heads)+maxArenaHead+100 <= maxArena {
		o.addHead(filler)
	}
	o.addHead(filler[:maxArena-len(o.heads)-100]) // room for two of the headers below
	want := make([][]byte, 0, 10)
	for i := range 10 {
		h := []byte(fmt.Sprintf("header %d with some extension bytes", i))
		d := packetio.Datagram{Head: other.addHead(h)}
		if d.Head == nil || !inArena(d.Head) {
			t.Fatalf("header %d: not copied into the arena", i)
		}
		other.add(d)
		want = append(want, h)
	}
	o.join(&other, s)
	// other is reused: its arena is written over.
	for other.addHead(filler) != nil {
	}
	if len(o.ds) != len(want) {
		t.Fatalf("joined batch holds %d datagrams, want %d", len(o.ds), len(want))
	}
	pooled := 0
	for i, d := range o.ds {
		if !bytes.Equal(d.Head, want[i]) {
			t.Errorf("datagram %d after join and reuse: %q, want %q", i, d.Head, want[i])
		}
		if !inArena(d.Head) {
			pooled++
			if cap(d.Head) != smallBuf {
				t.Errorf("datagram %d: moved to a buffer of capacity %d, want a pooled %d", i, cap(d.Head), smallBuf)
			}
		}
	}
	if pooled == 0 || pooled == len(want) {
		t.Errorf("%d of %d headers moved to pooled buffers; want some (the arena was nearly full), not all", pooled, len(want))
	}
	if inArena(s.getSmall()) || inArena(s.getBuf()) {
		t.Error("a pooled buffer counts as an arena copy")
	}
	if o.addHead(make([]byte, maxArenaHead+1)) != nil {
		t.Error("a header longer than maxArenaHead went into the arena")
	}
}

// Heads added before the arena grows keep their bytes: growing replaces
// the arena rather than moving what it holds.
func TestBatchArenaGrows(t *testing.T) {
	var o outBatch
	var heads [][]byte
	for i := 0; len(heads) < 1000; i++ {
		h := o.addHead([]byte(fmt.Sprintf("header %04d", i)))
		if h == nil {
			t.Fatalf("arena full after %d headers (%d bytes)", len(heads), len(o.heads))
		}
		heads = append(heads, h)
	}
	for i, h := range heads {
		if want := fmt.Sprintf("header %04d", i); string(h) != want {
			t.Fatalf("head %d reads %q after the arena grew, want %q", i, h, want)
		}
	}
}
