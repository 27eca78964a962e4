package wire

import "testing"

// TestPutPadded checks that a padded probe has the requested length (or
// one byte less where a single byte cannot be padded), parses as a packet
// with no payload, and keeps its selective ACK.
func TestPutPadded(t *testing.T) {
	buf := make([]byte, 70000)
	for _, sack := range [][]byte{nil, {0x05, 0, 0, 0}} {
		for size := MinPadded; size <= 65507; size += 1 + size/7 {
			h := Header{Type: Data, ConnID: 7, SeqNr: 9, AckNr: 3, SACK: sack}
			n := h.PutPadded(buf, size)
			if n != size && !(n == size-1) {
				t.Fatalf("size %d sack %v: wrote %d", size, sack, n)
			}
			got, payload, err := Parse(buf[:n])
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if len(payload) != 0 {
				t.Fatalf("size %d: payload of %d bytes, want none", size, len(payload))
			}
			if got.SeqNr != 9 || got.AckNr != 3 || got.Type != Data {
				t.Fatalf("size %d: header %+v", size, got)
			}
			if sack != nil && (got.SACK == nil || got.SACK[0] != 0x05) {
				t.Fatalf("size %d: SACK %v, want %v", size, got.SACK, sack)
			}
			if sack == nil {
				for _, b := range got.SACK {
					if b != 0 {
						t.Fatalf("size %d: padding SACK acknowledges %v", size, got.SACK)
					}
				}
			}
		}
	}
}

// TestPutPaddedExact checks every size in the range where the chain's
// remainder arithmetic turns (one to three extensions).
func TestPutPaddedExact(t *testing.T) {
	buf := make([]byte, 2048)
	short := 0
	for size := MinPadded; size < 1000; size++ {
		h := Header{Type: Data}
		n := h.PutPadded(buf, size)
		switch {
		case n == size-1:
			short++
		case n != size:
			t.Fatalf("size %d: wrote %d", size, n)
		}
		if _, p, err := Parse(buf[:n]); err != nil || len(p) != 0 {
			t.Fatalf("size %d: parse %v, payload %d", size, err, len(p))
		}
	}
	if short > 0 {
		t.Fatalf("%d sizes came out one byte short; the chain can always split evenly", short)
	}
}
