package wire

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// re-encodes to a packet that parses to the same header and payload.
func FuzzParse(f *testing.F) {
	f.Add((&Header{Type: Syn, ConnID: 1, SeqNr: 1}).Append(nil))
	f.Add(append((&Header{Type: Data, SeqNr: 2, SACK: []byte{1, 2, 3, 4}}).Append(nil), "hi"...))
	f.Add([]byte{0x21, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff})
	f.Add((&Header{Type: Syn, ConnID: 1, SeqNr: 1, MaxDatagram: 65535}).Append(nil))
	f.Add(append((&Header{Type: State, SACK: []byte{1, 0, 0, 0}, MaxDatagram: 1500}).Append(nil), "x"...))
	f.Add([]byte{0x41, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 77, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 2, 0, 0, 0, 5, 0xdc, 1})
	f.Add([]byte("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := Parse(b)
		if err != nil {
			return
		}
		if n := len(h.Append(nil)); n != h.Len() {
			t.Fatalf("Len %d, encoded %d bytes", h.Len(), n)
		}
		if len(h.SACK) > 255 {
			t.Fatalf("SACK longer than its length byte allows: %d", len(h.SACK))
		}
		payload = bytes.Clone(payload)
		enc := append(h.Append(nil), payload...)
		h2, p2, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-encoded packet does not parse: %v", err)
		}
		if !bytes.Equal(p2, payload) || h2.Type != h.Type || h2.SeqNr != h.SeqNr || h2.AckNr != h.AckNr ||
			h2.ConnID != h.ConnID || h2.WndSize != h.WndSize || h2.Timestamp != h.Timestamp ||
			h2.MaxDatagram != h.MaxDatagram {
			t.Fatalf("round trip changed the packet: %+v vs %+v", h, h2)
		}
		// Padding may lengthen the mask but never change a bit that was sent.
		for i := range len(h.SACK) * 8 {
			if i < MaxSACKLen*8 && SACKHas(h.SACK, i) != SACKHas(h2.SACK, i) {
				t.Fatalf("SACK bit %d changed", i)
			}
		}
	})
}
