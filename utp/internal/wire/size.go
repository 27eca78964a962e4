package wire

import "encoding/binary"

// The datagram-size extension is ours: it tells the peer the largest
// datagram (the UDP payload: header, extensions and data) that the sender
// reads whole, so that two endpoints which both speak it may exceed the
// size every uTP implementation reads. Its layout (docs/protocol.md):
//
//	byte 0     version, 1
//	byte 1     flags, 0; receivers ignore bits they do not know
//	bytes 2-5  largest datagram read whole, big-endian
//
// A receiver ignores the extension when its version is not 1 or it is
// shorter than 6 bytes, and ignores bytes past the sixth, which a later
// version may append while keeping version 1.
//
// No uTP implementation may see it first in the chain: libutp drops every
// packet whose first extension id is 3 or more (UTP_Version in
// utp_internal.cpp reads such a packet as version 0). Put therefore
// leads with a selective ACK when the packet has one, and otherwise with
// 8 zero bytes of extension bits (id 2), which libutp parses (it requires
// exactly 8 bytes) and libtorrent knows as a deprecated extension seen in
// the wild. Past the first position libutp, libtorrent (utp_stream.cpp),
// anacrolix/utp and github.com/inet256/go-utp all skip an id they do not
// know by its length.
const (
	// extDatagramSize is the extension id. No implementation we know
	// uses it: libutp has 1 and 2, libtorrent 1 and 3, anacrolix/utp and
	// github.com/inet256/go-utp only 1.
	extDatagramSize = 77
	// sizeExtVersion is the version this package writes and reads.
	sizeExtVersion = 1
	// sizeExtLen is the length of a version-1 extension's content.
	sizeExtLen = 6
	// extBitsLen is the length libutp requires of extension 2.
	extBitsLen = 8
)

// sizeExtOverhead is what advertising a datagram size adds to a packet
// without a selective ACK: the extension bits that lead the chain and the
// size extension, each with its 2-byte (next, length) prefix.
const sizeExtOverhead = 2 + extBitsLen + 2 + sizeExtLen

// MaxHandshakeExt is the most that extensions add to a packet that
// advertises a datagram size (a SYN or its STATE reply, which carry no
// selective ACK).
const MaxHandshakeExt = sizeExtOverhead

// parseSizeExt decodes the content of a datagram-size extension, returning
// 0 when this package does not understand it.
func parseSizeExt(b []byte) uint32 {
	if len(b) < sizeExtLen || b[0] != sizeExtVersion {
		return 0
	}
	return binary.BigEndian.Uint32(b[2:])
}

// putSizeExt writes a complete size extension (prefix and content) that
// ends the chain, and returns its length.
func putSizeExt(buf []byte, maxDatagram uint32) int {
	buf[0] = extNone
	buf[1] = sizeExtLen
	buf[2] = sizeExtVersion
	buf[3] = 0
	binary.BigEndian.PutUint32(buf[4:], maxDatagram)
	return 2 + sizeExtLen
}

// putExtBits writes libutp's extension bits, all zero, followed by
// extension next, and returns their length.
func putExtBits(buf []byte, next byte) int {
	buf[0] = next
	buf[1] = extBitsLen
	clear(buf[2 : 2+extBitsLen])
	return 2 + extBitsLen
}
