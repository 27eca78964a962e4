// Package wire encodes and decodes uTP packets (BEP 29): the 20-byte header,
// the extension chain with its selective-ACK bitmask, and 16-bit sequence
// number arithmetic with wrap-around. It also carries this project's own
// extension, which advertises the largest datagram an endpoint reads
// (size.go, docs/protocol.md).
//
// Parse never panics and never retains its input beyond the slices it
// returns. A datagram that cannot be uTP (a runt, a version other than 1, a
// type above 4, or a first extension id above 3 — no uTP implementation
// sends one; 3 is libtorrent's close reason, which is skipped) is
// reported with an error wrapping ErrNotUTP, so a socket shared with another
// protocol (a DHT, say) can pass it on.
package wire
