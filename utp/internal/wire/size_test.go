package wire

import (
	"bytes"
	"testing"
)

// The datagram-size extension, byte by byte: extension bits (id 2, the 8
// zero bytes libutp accepts) lead the chain, then id 77 with version 1,
// no flags and the size, big-endian (docs/protocol.md).
func TestSizeExtLayout(t *testing.T) {
	h := Header{Type: Syn, ConnID: 0x0102, SeqNr: 1, MaxDatagram: 0x0000ffe3}
	b := h.Append(nil)
	want := []byte{
		2,                             // first extension: extension bits
		77, 8, 0, 0, 0, 0, 0, 0, 0, 0, // next: the size extension
		0, 6, 1, 0, 0, 0, 0xff, 0xe3, // last: version 1, flags 0, 65,507
	}
	if got := append([]byte{b[1]}, b[HeaderSize:]...); !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
	if len(b) != h.Len() || h.Len() != HeaderSize+MaxHandshakeExt {
		t.Fatalf("encoded %d bytes, Len %d, want %d", len(b), h.Len(), HeaderSize+MaxHandshakeExt)
	}
}

// With a selective ACK the chain starts with it (id 1, which libutp takes
// first) and the size extension follows; no extension bits are needed.
func TestSizeExtAfterSACK(t *testing.T) {
	h := Header{Type: State, AckNr: 9, SACK: []byte{0x81, 0, 0, 0}, MaxDatagram: 1500}
	b := append(h.Append(nil), "payload"...)
	if b[1] != extSelectiveAck || b[HeaderSize] != extDatagramSize {
		t.Fatalf("chain starts % x, want SACK then size", b[:HeaderSize+2])
	}
	got, payload, err := Parse(b)
	if err != nil || got.MaxDatagram != 1500 || !bytes.Equal(got.SACK, h.SACK) || string(payload) != "payload" {
		t.Fatalf("parsed %+v %q %v", got, payload, err)
	}
}

// Every packet that advertises a size keeps libutp's rule: the first
// extension id is below 3 (UTP_Version in utp_internal.cpp).
func TestSizeExtNeverFirst(t *testing.T) {
	for _, sack := range [][]byte{nil, {1, 0, 0, 0}} {
		for _, typ := range []Type{Syn, State, Data} {
			h := Header{Type: typ, SACK: sack, MaxDatagram: 65535}
			if b := h.Append(nil); b[1] >= 3 {
				t.Errorf("%v sack=%v: first extension %d", typ, sack, b[1])
			}
		}
	}
}

// What a receiver of the extension must tolerate: a later version or a
// short one is ignored (the packet is still good), bytes past the sixth
// are skipped, and unknown flags do not matter.
func TestParseSizeExt(t *testing.T) {
	base := (&Header{Type: Syn}).Append(nil)
	withSize := func(content ...byte) []byte {
		b := append([]byte(nil), base...)
		b[1] = extExtensionBits
		b = append(b, extDatagramSize, 8, 0, 0, 0, 0, 0, 0, 0, 0)
		b = append(b, extNone, byte(len(content)))
		b = append(b, content...)
		return append(b, 'p')
	}
	cases := []struct {
		name    string
		content []byte
		want    uint32
	}{
		{"version 1", []byte{1, 0, 0, 0, 0x05, 0xdc}, 1500},
		{"unknown flags", []byte{1, 0xff, 0, 1, 0, 0}, 65536},
		{"longer, same version", []byte{1, 0, 0, 0, 0x23, 0x28, 9, 9, 9}, 9000},
		{"version 2", []byte{2, 0, 0, 0, 0x05, 0xdc}, 0},
		{"version 0", []byte{0, 0, 0, 0, 0x05, 0xdc}, 0},
		{"short", []byte{1, 0, 0, 0, 5}, 0},
		{"empty", nil, 0},
	}
	for _, c := range cases {
		h, p, err := Parse(withSize(c.content...))
		if err != nil || string(p) != "p" || h.MaxDatagram != c.want {
			t.Errorf("%s: MaxDatagram %d, payload %q, err %v; want %d, \"p\", nil", c.name, h.MaxDatagram, p, err, c.want)
		}
	}
}
