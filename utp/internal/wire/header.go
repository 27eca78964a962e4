package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Type is the packet type, the high nibble of the first header byte.
type Type uint8

// Packet types (BEP 29).
const (
	Data  Type = 0 // ST_DATA: carries payload
	Fin   Type = 1 // ST_FIN: last sequence number of the stream
	State Type = 2 // ST_STATE: an ACK without payload
	Reset Type = 3 // ST_RESET: terminate the connection
	Syn   Type = 4 // ST_SYN: open a connection
)

var typeNames = [...]string{"DATA", "FIN", "STATE", "RESET", "SYN"}

// String returns the BEP 29 name without the ST_ prefix.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

const (
	// Version is the only protocol version uTP has (BEP 29).
	Version = 1
	// HeaderSize is the size of the fixed header.
	HeaderSize = 20
	// MaxSACKLen is the largest bitmask we encode: the length byte allows 255,
	// and a multiple of 4 is required by libutp, so 252.
	MaxSACKLen = 252

	extNone          = 0
	extSelectiveAck  = 1
	extExtensionBits = 2 // libutp sends 8 bytes of extension bits; we skip it
	// extCloseReason is libtorrent's close reason (utp_stream.cpp), which it
	// puts first on every packet after closing with a reason; skipped.
	extCloseReason = 3
)

var (
	// ErrNotUTP reports a datagram that is not uTP at all.
	ErrNotUTP = errors.New("wire: not a uTP packet")
	// ErrMalformed reports a uTP-looking datagram whose extension chain is
	// truncated or inconsistent.
	ErrMalformed = errors.New("wire: malformed uTP packet")
)

// Header is a decoded uTP header. Field comments give the BEP 29 names.
type Header struct {
	Type          Type
	ConnID        uint16 // connection_id
	Timestamp     uint32 // timestamp_microseconds
	TimestampDiff uint32 // timestamp_difference_microseconds
	WndSize       uint32 // wnd_size: free receive buffer in bytes
	SeqNr         uint16 // seq_nr
	AckNr         uint16 // ack_nr
	// SACK is the selective-ACK bitmask, nil when absent. Bit i of byte j
	// (least significant bit first) acknowledges AckNr+2+8*j+i. After Parse
	// it aliases the input.
	SACK []byte
	// MaxDatagram is the largest datagram the sender reads whole, from
	// our datagram-size extension (size.go); 0 when absent. Put writes
	// the extension when it is not 0.
	MaxDatagram uint32
}

// Parse decodes one datagram. The payload and h.SACK alias b.
func Parse(b []byte) (h Header, payload []byte, err error) {
	payload, err = ParseInto(&h, b)
	return h, payload, err
}

// ParseInto is Parse into *h, which it overwrites: a receiver that keeps
// the headers of a read's packets in an array parses each in its place.
// Returned by value, the header was stored a field at a time and then
// copied whole, twice per packet, and the wide loads of each copy stalled
// on the narrow stores before them (most of the IO layer's routing
// samples in a bulk transfer over veth).
func ParseInto(h *Header, b []byte) (payload []byte, err error) {
	*h = Header{}
	if len(b) < HeaderSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a header", ErrNotUTP, len(b))
	}
	if v := b[0] & 0xf; v != Version {
		return nil, fmt.Errorf("%w: version %d", ErrNotUTP, v)
	}
	h.Type = Type(b[0] >> 4)
	if h.Type > Syn {
		return nil, fmt.Errorf("%w: type %d", ErrNotUTP, uint8(h.Type))
	}
	ext := b[1]
	if ext > extCloseReason {
		return nil, fmt.Errorf("%w: first extension %d", ErrNotUTP, ext)
	}
	h.ConnID = binary.BigEndian.Uint16(b[2:])
	h.Timestamp = binary.BigEndian.Uint32(b[4:])
	h.TimestampDiff = binary.BigEndian.Uint32(b[8:])
	h.WndSize = binary.BigEndian.Uint32(b[12:])
	h.SeqNr = binary.BigEndian.Uint16(b[16:])
	h.AckNr = binary.BigEndian.Uint16(b[18:])
	rest := b[HeaderSize:]
	for ext != extNone {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: extension %d truncated", ErrMalformed, ext)
		}
		next, n := rest[0], int(rest[1])
		if len(rest) < 2+n {
			return nil, fmt.Errorf("%w: extension %d claims %d bytes, %d left", ErrMalformed, ext, n, len(rest)-2)
		}
		switch {
		case ext == extSelectiveAck && h.SACK == nil:
			// Any length is accepted: libtorrent has sent 1-byte masks
			// although libutp always sends multiples of 4.
			h.SACK = rest[2 : 2+n : 2+n]
		case ext == extDatagramSize && h.MaxDatagram == 0:
			h.MaxDatagram = parseSizeExt(rest[2 : 2+n])
		}
		// Unknown later extensions are skipped by length, as libutp does.
		ext, rest = next, rest[2+n:]
	}
	return rest, nil
}

// Len returns the encoded size of h: the header plus its extensions. A
// SACK bitmask is padded to a multiple of 4 bytes.
func (h *Header) Len() int {
	n := HeaderSize
	if h.SACK != nil {
		n += 2 + sackEncodedLen(len(h.SACK))
	}
	if h.MaxDatagram != 0 {
		n += 2 + sizeExtLen
		if h.SACK == nil {
			n += 2 + extBitsLen
		}
	}
	return n
}

func sackEncodedLen(n int) int {
	n = (n + 3) &^ 3
	if n == 0 {
		n = 4
	}
	return min(n, MaxSACKLen)
}

// Put encodes h into buf, which must hold at least h.Len() bytes, and
// returns the number of bytes written. The payload goes after them.
func (h *Header) Put(buf []byte) int {
	_ = buf[HeaderSize-1]
	buf[0] = byte(h.Type)<<4 | Version
	buf[1] = extNone
	binary.BigEndian.PutUint16(buf[2:], h.ConnID)
	binary.BigEndian.PutUint32(buf[4:], h.Timestamp)
	binary.BigEndian.PutUint32(buf[8:], h.TimestampDiff)
	binary.BigEndian.PutUint32(buf[12:], h.WndSize)
	binary.BigEndian.PutUint16(buf[16:], h.SeqNr)
	binary.BigEndian.PutUint16(buf[18:], h.AckNr)
	n := HeaderSize
	next := &buf[1] // the id of the extension written next goes here
	if h.SACK != nil {
		*next = extSelectiveAck
		next = &buf[n]
		m := sackEncodedLen(len(h.SACK))
		buf[n] = extNone
		buf[n+1] = byte(m)
		k := copy(buf[n+2:n+2+m], h.SACK)
		clear(buf[n+2+k : n+2+m])
		n += 2 + m
	}
	if h.MaxDatagram != 0 {
		if h.SACK == nil {
			// libutp drops a packet whose first extension id is 3 or
			// more: lead with extension bits (size.go).
			*next = extExtensionBits
			next = &buf[n]
			n += putExtBits(buf[n:], extNone)
		}
		*next = extDatagramSize
		n += putSizeExt(buf[n:], h.MaxDatagram)
	}
	return n
}

// Append appends the encoding of h to b.
func (h *Header) Append(b []byte) []byte {
	n := len(b)
	b = append(b, make([]byte, h.Len())...)
	h.Put(b[n:])
	return b
}
