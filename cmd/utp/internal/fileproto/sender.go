package fileproto

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"
)

// Source is a file to send.
type Source struct {
	Header
	// R reads the file from its start. If it is also an io.Seeker, a
	// transfer can resume from what the receiver holds.
	R io.Reader
}

// Sent says what Send did with one file.
type Sent struct {
	Header
	Offset int64             // where this transfer started: what the receiver held
	Bytes  int64             // bytes sent now
	Sum    [sha256.Size]byte // of the whole file
}

// Config holds what both sides may set.
type Config struct {
	// Idle bounds how long a Read or Write may wait for the peer (when
	// the stream has deadlines, as a net.Conn), and how long the sender
	// waits for an answer. Zero: no bound.
	Idle time.Duration
	// Gone, if set, is called once, from Send's reading goroutine, when
	// reading the receiver's stream fails other than at its orderly end
	// (a reset, a broken connection): a caller whose Send is blocked on a
	// slow Source (standard input) can give up at once instead of at its
	// next write. Send itself still returns only once it is unblocked.
	Gone func(err error)
}

// Send runs the sender's side over rw: it offers each file in turn and
// returns, for each file the receiver verified, what was sent. It stops
// at the first error: a *Refusal from the receiver, ErrCorrupt, a
// protocol error or rw's. After "done" it reads rw to its end (the
// receiver's), so the caller may then end its own side. The goroutine
// Send starts to read the receiver's answers ends when rw's reads fail or
// end: a caller that stops early closes rw.
func Send(rw io.ReadWriter, files []Source, cfg Config) ([]Sent, error) {
	s := &sender{
		stream:  newIdleStream(rw, cfg.Idle, false),
		cfg:     cfg,
		replies: make(chan reply, 2),
		done:    make(chan struct{}),
	}
	defer close(s.done)
	s.w = bufio.NewWriterSize(s.stream, 256<<10)
	go s.readReplies(bufio.NewReader(s.stream))
	var sent []Sent
	// A receiver that refuses at once (busy, denied) may be read, and
	// stop this write, before it is made: writeFailed returns why.
	if err := s.line(Version); err != nil {
		return nil, s.writeFailed(err)
	}
	for _, f := range files {
		r, err := s.sendOne(f)
		if err != nil {
			return sent, err
		}
		sent = append(sent, r)
	}
	if err := s.line("done"); err != nil {
		return sent, s.writeFailed(err)
	}
	// The receiver ends its stream after "done".
	rep, err := s.next()
	switch {
	case err != nil:
		return sent, err
	case errors.Is(rep.err, io.EOF):
		return sent, nil
	case rep.err != nil:
		return sent, rep.err
	}
	return sent, protocolError("%.60q after done", rep.line)
}

type sender struct {
	stream  *idleStream
	w       *bufio.Writer
	cfg     Config
	replies chan reply
	done    chan struct{}
}

type reply struct {
	line string
	err  error // the read's; io.EOF at the receiver's end
}

// readReplies passes the receiver's lines on. A refusal stops the
// sender's writes at once: the receiver reads no more of them.
func (s *sender) readReplies(r *bufio.Reader) {
	for {
		line, err := readLine(r)
		if err == nil && strings.HasPrefix(line, "no ") {
			s.stream.stop()
		}
		if err != nil && !errors.Is(err, io.EOF) && s.cfg.Gone != nil {
			s.cfg.Gone(err)
		}
		select {
		case s.replies <- reply{line, err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// next waits (at most Idle) for the receiver's next line.
func (s *sender) next() (reply, error) {
	var timeout <-chan time.Time
	if s.cfg.Idle > 0 {
		t := time.NewTimer(s.cfg.Idle)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case r := <-s.replies:
		return r, nil
	case <-timeout:
		return reply{}, fmt.Errorf("the receiver did not answer within %v", s.cfg.Idle)
	}
}

// answer waits for the receiver's line and returns it with its refusal
// (if it is one) as the error.
func (s *sender) answer() (string, error) {
	r, err := s.next()
	switch {
	case err != nil:
		return "", err
	case errors.Is(r.err, io.EOF):
		return "", errors.New("the receiver closed the connection without an answer")
	case r.err != nil:
		return "", r.err
	}
	if rest, ok := strings.CutPrefix(r.line, "no "); ok {
		ref, err := parseRefusal(rest)
		if err != nil {
			return "", err
		}
		return "", ref
	}
	return r.line, nil
}

func (s *sender) line(l string) error {
	if err := writeLine(s.w, l); err != nil {
		return err
	}
	return s.w.Flush()
}

func (s *sender) sendOne(f Source) (Sent, error) {
	if err := s.line(f.Header.line()); err != nil {
		return Sent{}, s.writeFailed(err)
	}
	ans, err := s.answer()
	if err != nil {
		return Sent{}, err
	}
	rest, ok := strings.CutPrefix(ans, "resume ")
	if !ok {
		return Sent{}, protocolError("expected resume, got %.60q", ans)
	}
	o, err := parseOffer(rest)
	if err != nil {
		return Sent{}, err
	}
	h := sha256.New()
	offset, err := agree(f, o, h)
	if err != nil {
		return Sent{}, fmt.Errorf("reading %s: %w", f.Name, err)
	}
	if err := s.line("start " + strconv.FormatInt(offset, 10)); err != nil {
		return Sent{}, s.writeFailed(err)
	}
	n, err := s.stream1(f, offset, h)
	if err != nil {
		return Sent{}, err
	}
	sent := Sent{Header: f.Header, Offset: offset, Bytes: n}
	copy(sent.Sum[:], h.Sum(nil))
	switch ans, err := s.answer(); {
	case err != nil:
		return Sent{}, err
	case ans == "bad":
		return Sent{}, ErrCorrupt
	case ans != "ok":
		return Sent{}, protocolError("expected ok or bad, got %.60q", ans)
	}
	return sent, nil
}

// agree decides where the file starts: at the receiver's offset when the
// file's first bytes hash as the receiver's do (h then holds them), else
// at 0. Only a file that can seek back can try.
func agree(f Source, o offer, h hash.Hash) (int64, error) {
	seeker, ok := f.R.(io.Seeker)
	if o.offset == 0 || !ok || (f.Size >= 0 && o.offset > f.Size) {
		return 0, nil
	}
	if _, err := io.CopyN(h, f.R, o.offset); err == nil && sameSum([sha256.Size]byte(h.Sum(nil)), o.sum) {
		return o.offset, nil
	}
	h.Reset()
	_, err := seeker.Seek(0, io.SeekStart)
	return 0, err
}

// stream1 sends the file's data from where f.R stands, hashing it into h,
// then the end frame with the whole file's hash. A file that cannot be
// read, or whose size is not its header's, is aborted in band.
func (s *sender) stream1(f Source, offset int64, h hash.Hash) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, rerr := f.R.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			if err := writeFrame(s.w, buf[:k]); err != nil {
				return n, s.writeFailed(err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			s.abort()
			return n, fmt.Errorf("reading %s: %w", f.Name, rerr)
		}
	}
	if f.Size >= 0 && offset+n != f.Size {
		s.abort()
		return n, fmt.Errorf("%s changed size while being sent (%d bytes, not %d)", f.Name, offset+n, f.Size)
	}
	var end [4 + sha256.Size]byte
	copy(end[4:], h.Sum(nil))
	if _, err := s.w.Write(end[:]); err != nil {
		return n, s.writeFailed(err)
	}
	if err := s.w.Flush(); err != nil {
		return n, s.writeFailed(err)
	}
	return n, nil
}

// abort tells the receiver, in band, that this transfer ends unfinished.
func (s *sender) abort() {
	s.w.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF})
	s.w.Flush()
}

// writeFailed returns the receiver's refusal, which is what made the
// write fail when there is one, else err.
func (s *sender) writeFailed(err error) error {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case r := <-s.replies:
			if rest, ok := strings.CutPrefix(r.line, "no "); ok && r.err == nil {
				if ref, perr := parseRefusal(rest); perr == nil {
					return ref
				}
			}
			if r.err != nil {
				return err
			}
		case <-t.C:
			return err
		}
	}
}
