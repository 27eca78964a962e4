package fileproto

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// Header is what a sender says about a file before its data.
type Header struct {
	Name string `json:"name"`
	Size int64  `json:"size"` // -1: unknown until the end (a pipe)
}

// ParseHeader parses the rest of a "file" line and validates it: a
// JSON object with a valid name and a size of -1 or more.
func ParseHeader(rest string) (Header, error) {
	var h Header
	d := json.NewDecoder(strings.NewReader(rest))
	d.DisallowUnknownFields()
	if err := d.Decode(&h); err != nil {
		return Header{}, protocolError("malformed file header: %v", err)
	}
	if d.More() {
		return Header{}, protocolError("text after the file header")
	}
	if h.Size < -1 {
		return Header{}, protocolError("file size %d", h.Size)
	}
	if err := ValidName(h.Name); err != nil {
		return Header{}, &Refusal{Reason: ReasonBadName, Text: Printable(err.Error())}
	}
	return h, nil
}

func (h Header) line() string {
	b, _ := json.Marshal(h)
	return "file " + string(b)
}

// offer is the receiver's "resume OFFSET HEX".
type offer struct {
	offset int64
	sum    [sha256.Size]byte
}

func (o offer) line() string {
	return "resume " + strconv.FormatInt(o.offset, 10) + " " + hex.EncodeToString(o.sum[:])
}

func parseOffer(rest string) (offer, error) {
	n, h, ok := strings.Cut(rest, " ")
	off, err := strconv.ParseInt(n, 10, 64)
	sum, herr := hex.DecodeString(h)
	if !ok || err != nil || off < 0 || herr != nil || len(sum) != sha256.Size {
		return offer{}, protocolError("malformed resume line %.80q", rest)
	}
	o := offer{offset: off}
	copy(o.sum[:], sum)
	return o, nil
}

// Frame lengths with a meaning of their own.
const (
	frameEnd   = 0
	frameAbort = 0xFFFFFFFF
)

// writeFrame writes one data frame.
func writeFrame(w io.Writer, p []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// frameReader reads the data frames of one file as a stream; it returns
// io.EOF at the end frame, after which sum holds the sender's SHA-256.
type frameReader struct {
	r     io.Reader
	left  uint32 // bytes of the current frame not yet read
	ended bool
	sum   [sha256.Size]byte
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.ended {
		return 0, io.EOF
	}
	if f.left == 0 {
		var hdr [4]byte
		if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
			return 0, unexpected(err)
		}
		switch n := binary.BigEndian.Uint32(hdr[:]); {
		case n == frameEnd:
			if _, err := io.ReadFull(f.r, f.sum[:]); err != nil {
				return 0, unexpected(err)
			}
			f.ended = true
			return 0, io.EOF
		case n == frameAbort:
			return 0, ErrSenderAborted
		case n > MaxChunk:
			return 0, protocolError("a data frame of %d bytes", n)
		default:
			f.left = n
		}
	}
	if uint32(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= uint32(n)
	if err != nil {
		err = unexpected(err)
	}
	return n, err
}

// unexpected turns the end of the stream inside a frame into
// io.ErrUnexpectedEOF: only the end frame ends a file.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func sameSum(a, b [sha256.Size]byte) bool { return bytes.Equal(a[:], b[:]) }
