package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	cases := []Header{
		{Type: Syn, ConnID: 0x1234, Timestamp: 1, WndSize: 1 << 20, SeqNr: 1},
		{Type: State, ConnID: 0xffff, Timestamp: 0xffffffff, TimestampDiff: 77, SeqNr: 65535, AckNr: 0},
		{Type: Data, SeqNr: 9, AckNr: 3, SACK: []byte{0x01, 0, 0, 0x80}},
		{Type: Fin, SeqNr: 10, AckNr: 3},
		{Type: Reset, ConnID: 7},
		{Type: Syn, ConnID: 0x1234, SeqNr: 1, MaxDatagram: 65535},
		{Type: State, SeqNr: 3, AckNr: 4, SACK: []byte{0, 0, 0, 1}, MaxDatagram: 1 << 31},
	}
	for _, h := range cases {
		b := h.Append(nil)
		b = append(b, "payload"...)
		got, payload, err := Parse(b)
		if err != nil {
			t.Fatalf("%v: %v", h.Type, err)
		}
		if string(payload) != "payload" {
			t.Errorf("%v: payload %q", h.Type, payload)
		}
		if got.Type != h.Type || got.ConnID != h.ConnID || got.Timestamp != h.Timestamp ||
			got.TimestampDiff != h.TimestampDiff || got.WndSize != h.WndSize ||
			got.SeqNr != h.SeqNr || got.AckNr != h.AckNr || !bytes.Equal(got.SACK, h.SACK) ||
			got.MaxDatagram != h.MaxDatagram {
			t.Errorf("round trip: got %+v, want %+v", got, h)
		}
	}
}

// BEP 29 header layout, byte by byte.
func TestHeaderLayout(t *testing.T) {
	h := Header{Type: State, ConnID: 0x0102, Timestamp: 0x03040506, TimestampDiff: 0x0708090a,
		WndSize: 0x0b0c0d0e, SeqNr: 0x0f10, AckNr: 0x1112}
	want := []byte{0x21, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
	if got := h.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
}

// libutp requires SACK masks in multiples of 4 bytes; we pad when encoding.
func TestSACKEncodedInMultiplesOf4(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 8, 250, 252, 300} {
		h := Header{Type: State, SACK: make([]byte, n)}
		if n > 0 {
			h.SACK[0] = 0x5
		}
		b := h.Append(nil)
		l := int(b[HeaderSize+1])
		if l%4 != 0 || l == 0 || l > MaxSACKLen {
			t.Errorf("mask of %d encodes with length %d", n, l)
		}
		if len(b) != h.Len() {
			t.Errorf("Len %d, encoded %d", h.Len(), len(b))
		}
		got, _, err := Parse(b)
		if err != nil || len(got.SACK) != l || (n > 0 && got.SACK[0] != 0x5) {
			t.Errorf("mask of %d: parsed %v %v", n, got.SACK, err)
		}
	}
}

// Decoding accepts any SACK length, including the 1-byte masks libtorrent
// has sent, and skips extension 2 (libutp's 8 extension bytes).
func TestParseExtensions(t *testing.T) {
	base := (&Header{Type: State, AckNr: 5}).Append(nil)
	withExt := func(first byte, chain ...byte) []byte {
		b := append([]byte(nil), base...)
		b[1] = first
		return append(b, chain...)
	}
	oneByte := withExt(1, 0, 1, 0x3)
	h, p, err := Parse(oneByte)
	if err != nil || len(h.SACK) != 1 || h.SACK[0] != 3 || len(p) != 0 {
		t.Fatalf("1-byte SACK: %+v %v", h, err)
	}
	bits := withExt(2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0xff, 0, 0, 0, 'x')
	h, p, err = Parse(bits)
	if err != nil || len(h.SACK) != 4 || string(p) != "x" {
		t.Fatalf("ext bits then SACK: %+v %q %v", h, p, err)
	}
	unknownLater := withExt(2, 9, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 'y')
	if _, p, err = Parse(unknownLater); err != nil || string(p) != "y" {
		t.Fatalf("unknown later extension should be skipped: %q %v", p, err)
	}
	// libtorrent puts its close reason (extension 3) first after closing
	// with a reason; it is skipped like any unknown later extension.
	closeReason := withExt(3, 1, 4, 0, 7, 0, 0, 0, 4, 0x01, 0, 0, 0, 'z')
	if h, p, err = Parse(closeReason); err != nil || string(p) != "z" || len(h.SACK) != 4 {
		t.Fatalf("close reason first: %+v %q %v", h, p, err)
	}
	truncated := withExt(1, 0, 8, 1, 2)
	if _, _, err = Parse(truncated); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated extension: %v", err)
	}
	if _, _, err = Parse(withExt(1)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("missing extension header: %v", err)
	}
}

func TestNotUTP(t *testing.T) {
	ok := (&Header{Type: Data}).Append(nil)
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), ok...)
		f(b)
		return b
	}
	cases := map[string][]byte{
		"runt":            ok[:19],
		"empty":           nil,
		"version 0":       mut(func(b []byte) { b[0] = 0x00 }),
		"version 2":       mut(func(b []byte) { b[0] = 0x02 }),
		"type 5":          mut(func(b []byte) { b[0] = 0x51 }),
		"type 15":         mut(func(b []byte) { b[0] = 0xf1 }),
		"first ext 4":     mut(func(b []byte) { b[1] = 4 }),
		"bencoded DHT":    []byte("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"),
		"first ext 0xff ": mut(func(b []byte) { b[1] = 0xff }),
	}
	for name, b := range cases {
		if _, _, err := Parse(b); !errors.Is(err, ErrNotUTP) {
			t.Errorf("%s: got %v, want ErrNotUTP", name, err)
		}
	}
}

func TestTypeString(t *testing.T) {
	if Syn.String() != "SYN" || Type(9).String() != "Type(9)" {
		t.Fatal(Syn.String(), Type(9).String())
	}
}
