package wire

// extPadding is the extension type of the padding in a path MTU probe
// (docs/protocol.md). No uTP implementation we know uses it; libutp,
// libtorrent (utp_stream.cpp, incoming_packet) and this package skip an
// extension they do not know by its length byte.
const extPadding = 0x50

// MinPadded is the smallest datagram PutPadded produces: a header, a
// 4-byte selective ACK and an empty padding extension.
const MinPadded = HeaderSize + 2 + 4 + 2

// PutPadded encodes h followed by padding so that the datagram is size
// bytes long, for a path MTU probe, and returns its length: size, or one
// byte less when a single byte cannot be padded (an extension takes at
// least two), or h.Len() when size is below it. buf must hold size bytes.
//
// Padding is a chain of extensions of type extPadding, up to 255 zero
// bytes each. Our parser stops treating a datagram as uTP when its first
// extension is unknown (it may be another protocol sharing the port), so
// the chain always starts with a selective ACK: h.SACK, or, without one,
// a 4-byte mask with no bit set, which acknowledges nothing.
func (h *Header) PutPadded(buf []byte, size int) int {
	hh := *h
	hh.MaxDatagram = 0 // the handshake's; a probe never carries it
	var none [4]byte
	if hh.SACK == nil {
		hh.SACK = none[:]
	}
	n := hh.Put(buf)
	rest := size - n
	if rest < 2 {
		return n
	}
	buf[HeaderSize] = extPadding // the SACK's next-extension byte
	for rest >= 2 {
		l := min(rest-2, 255)
		if rest-2-l == 1 {
			l-- // leave two bytes for the next extension, not one
		}
		rest -= 2 + l
		next := byte(extNone)
		if rest >= 2 {
			next = extPadding
		}
		buf[n], buf[n+1] = next, byte(l)
		clear(buf[n+2 : n+2+l])
		n += 2 + l
	}
	return n
}
