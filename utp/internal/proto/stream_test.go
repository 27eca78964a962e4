package proto

import (
	"bytes"
	"testing"
)

// streamByte is byte i of the deterministic stream an endpoint sends; the
// salt tells the two directions apart so crossed streams are detected.
func streamByte(salt byte, i uint64) byte {
	return byte(i*131+i>>9+i>>17) ^ salt
}

// streamBlock is the run of the stream over which i>>9 + i>>17 is
// constant: within an aligned block of 512 bytes, byte i is byte(j*131 + c)
// ^ salt for j = i mod 512 and a constant c (512*131 is 0 mod 256).
const streamBlock = 512

// streamRot inverts k → byte(k*131): 131 is odd, so the map is a
// permutation of the bytes, and byte(j*131 + c) = byte((j+d)*131) for
// d = streamRot[c]. A block of the stream is then a slice of one table.
var streamRot = func() (r [256]byte) {
	for d := range 256 {
		r[byte(d*131)] = byte(d)
	}
	return r
}()

// streamPattern fills and checks the stream of one salt with copy and
// bytes.Equal instead of byte by byte: generating and checking the payload
// one byte at a time took two thirds of the CPU of a long simulation
// (pprof of TestLEDBATPPOneFlow at 100 Mbit/s), more than the Conns.
type streamPattern struct {
	tab [256 + streamBlock]byte // tab[k] = byte(k*131) ^ salt
}

func newStreamPattern(salt byte) *streamPattern {
	p := new(streamPattern)
	for k := range p.tab {
		p.tab[k] = byte(k*131) ^ salt
	}
	return p
}

// run returns the stream from byte i on, at most n bytes and not past the
// end of i's block.
func (p *streamPattern) run(i uint64, n int) []byte {
	j := int(i % streamBlock)
	d := int(streamRot[byte(i>>9+i>>17)])
	return p.tab[d+j : d+j+min(n, streamBlock-j)]
}

// fill writes the stream's bytes i to i+len(dst) into dst.
func (p *streamPattern) fill(dst []byte, i uint64) {
	for len(dst) > 0 {
		n := copy(dst, p.run(i, len(dst)))
		dst, i = dst[n:], i+uint64(n)
	}
}

// mismatch returns the offset in got of its first byte that differs from
// the stream's bytes from i on, or -1 if none does.
func (p *streamPattern) mismatch(got []byte, i uint64) int {
	for off := 0; off < len(got); {
		want := p.run(i+uint64(off), len(got)-off)
		if seg := got[off : off+len(want)]; !bytes.Equal(seg, want) {
			for k := range seg {
				if seg[k] != want[k] {
					return off + k
				}
			}
		}
		off += len(want)
	}
	return -1
}

// The patterns are the stream streamByte defines, at any offset and
// length, across block boundaries and the >>17 carries, and mismatch
// finds a changed byte where it is.
func TestStreamPatternMatchesStreamByte(t *testing.T) {
	for _, salt := range []byte{0x00, 0xff, 0x5a} {
		p := newStreamPattern(salt)
		for _, start := range []uint64{0, 1, 511, 512, 1000, 1<<17 - 700, 1<<17 + 3, 1<<40 - 5, 123456789} {
			buf := make([]byte, 3000)
			p.fill(buf, start)
			for k, b := range buf {
				if want := streamByte(salt, start+uint64(k)); b != want {
					t.Fatalf("salt %#x: byte %d: fill wrote %#x, streamByte %#x", salt, start+uint64(k), b, want)
				}
			}
			if m := p.mismatch(buf, start); m != -1 {
				t.Fatalf("salt %#x, start %d: mismatch %d in the stream itself", salt, start, m)
			}
			buf[1234] ^= 1
			if m := p.mismatch(buf, start); m != 1234 {
				t.Fatalf("salt %#x, start %d: mismatch %d, want 1234", salt, start, m)
			}
		}
	}
}
