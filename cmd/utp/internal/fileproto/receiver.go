package fileproto

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Sink is where a receiver puts the files it is offered.
type Sink interface {
	// Begin prepares to receive the file h describes, or refuses it
	// with a *Refusal (any other error refuses it as ReasonIO).
	Begin(h Header) (File, error)
}

// File is one file being received.
type File interface {
	// Held returns what an earlier attempt left of this file: its
	// length, and a reader of those bytes to hash (nil when 0).
	Held() (int64, io.Reader, error)
	// Restart drops what was held: the data that follows starts the file.
	Restart() error
	// Write appends data. An error that is a *Refusal is sent as it is.
	io.Writer
	// Commit makes the verified file final.
	Commit() error
	// Abort ends a file that was not verified. Corrupt is true when
	// the data is known wrong (keep none of it); otherwise what was
	// written may be kept for a later attempt to resume.
	Abort(corrupt bool)
}

// Received says what Receive stored.
type Received struct {
	Header
	Offset int64             // what was held from an earlier attempt and kept
	Bytes  int64             // bytes received now
	Sum    [sha256.Size]byte // of the whole file
}

// Receive runs the receiver's side over rw until the sender says "done",
// and returns the files it verified and stored. At the first error it
// stops, after telling the sender why when it can: the error is the
// sink's (whose *Refusal the sender got), ErrCorrupt, ErrSenderAborted,
// a protocol error or rw's. The caller then ends its side of rw.
func Receive(rw io.ReadWriter, sink Sink, cfg Config) ([]Received, error) {
	stream := newIdleStream(rw, cfg.Idle, true)
	r := &receiver{r: bufio.NewReaderSize(stream, 256<<10), w: bufio.NewWriter(stream), sink: sink}
	line, err := readLine(r.r)
	if err != nil {
		return nil, err
	}
	if line != Version {
		err := protocolError("the peer is not a version-2 'utp send' (it sent %.40q)", Printable(line))
		r.refuse(&Refusal{Reason: ReasonProtocol, Text: "expected " + Version})
		return nil, err
	}
	var got []Received
	for {
		line, err := readLine(r.r)
		if err != nil {
			return got, err
		}
		if line == "done" {
			return got, nil
		}
		rest, ok := strings.CutPrefix(line, "file ")
		if !ok {
			err := protocolError("expected a file or done, got %.40q", Printable(line))
			r.refuse(&Refusal{Reason: ReasonProtocol, Text: "expected a file or done"})
			return got, err
		}
		rcv, err := r.receiveOne(rest)
		if err != nil {
			return got, err
		}
		got = append(got, rcv)
	}
}

type receiver struct {
	r    *bufio.Reader
	w    *bufio.Writer
	sink Sink
}

func (r *receiver) send(line string) error {
	if err := writeLine(r.w, line); err != nil {
		return err
	}
	return r.w.Flush()
}

// refuse tells the sender why this side stops: err's *Refusal, or
// ReasonIO with err's text. It returns err.
func (r *receiver) refuse(err error) error {
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
	case errors.Is(err, ErrProtocol):
		ref = &Refusal{Reason: ReasonProtocol, Text: err.Error()}
	default:
		ref = &Refusal{Reason: ReasonIO, Text: err.Error()}
	}
	r.send(ref.line())
	return err
}

func (r *receiver) receiveOne(rest string) (Received, error) {
	h, err := ParseHeader(rest)
	if err != nil {
		var ref *Refusal
		if !errors.As(err, &ref) {
			ref = &Refusal{Reason: ReasonProtocol, Text: "malformed file header"}
		}
		r.refuse(ref)
		return Received{}, err
	}
	f, err := r.sink.Begin(h)
	if err != nil {
		return Received{}, r.refuse(err)
	}
	rcv, err := r.data(h, f)
	if err != nil {
		f.Abort(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrProtocol))
		return Received{}, err
	}
	return rcv, nil
}

// data runs one file's exchange from the offer to the answer.
func (r *receiver) data(h Header, f File) (Received, error) {
	held, hr, err := f.Held()
	sum := sha256.New()
	if err == nil && held > 0 {
		_, err = io.CopyN(sum, hr, held)
	}
	if err != nil { // what is held cannot be read: start afresh
		if err := f.Restart(); err != nil {
			return Received{}, r.refuse(err)
		}
		held = 0
		sum.Reset()
	}
	o := offer{offset: held}
	copy(o.sum[:], sum.Sum(nil))
	if err := r.send(o.line()); err != nil {
		return Received{}, err
	}
	line, err := readLine(r.r)
	if err != nil {
		return Received{}, err
	}
	start, err := parseStart(line, held)
	if err != nil {
		return Received{}, r.refuse(err)
	}
	if start == 0 && held > 0 {
		if err := f.Restart(); err != nil {
			return Received{}, r.refuse(err)
		}
		sum.Reset()
	}
	rcv := Received{Header: h, Offset: start}
	fr := &frameReader{r: r.r}
	if rcv.Bytes, err = r.copyData(h, f, fr, sum, start); err != nil {
		return Received{}, err
	}
	copy(rcv.Sum[:], sum.Sum(nil))
	if !sameSum(rcv.Sum, fr.sum) {
		r.send("bad")
		return Received{}, ErrCorrupt
	}
	if err := f.Commit(); err != nil {
		return Received{}, r.refuse(err)
	}
	return rcv, r.send("ok")
}

// parseStart reads the sender's "start OFFSET": 0, or what is held.
func parseStart(line string, held int64) (int64, error) {
	rest, ok := strings.CutPrefix(line, "start ")
	n, err := strconv.ParseInt(rest, 10, 64)
	if !ok || err != nil || (n != 0 && n != held) {
		return 0, protocolError("expected start 0 or start %d, got %.40q", held, Printable(line))
	}
	return n, nil
}

// copyData writes the frames' data to f and sum, checking it against the
// header's size.
func (r *receiver) copyData(h Header, f File, fr *frameReader, sum io.Writer, start int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, rerr := fr.Read(buf)
		if k > 0 {
			if h.Size >= 0 && start+n+int64(k) > h.Size {
				return n, r.refuse(protocolError("more data than the %d bytes announced", h.Size))
			}
			if _, err := f.Write(buf[:k]); err != nil {
				return n, r.refuse(err)
			}
			sum.Write(buf[:k])
			n += int64(k)
		}
		switch {
		case rerr == io.EOF:
			if h.Size >= 0 && start+n != h.Size {
				return n, r.refuse(protocolError("%d bytes, not the %d announced", start+n, h.Size))
			}
			return n, nil
		case errors.Is(rerr, ErrProtocol):
			return n, r.refuse(rerr)
		case rerr != nil:
			return n, rerr
		}
	}
}
