package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/inet256/go-utp/v2/utp"
)

// The file protocol. The sender writes a magic line, a JSON header line
// {"name":..., "size":...}, the file's bytes and their SHA-256. The
// receiver answers with one line, then half-closes:
//
//	ok                   the hash matched; the file is written
//	bad                  the hash did not match; the file is removed
//	no STATUS REASON     refused (at the header, or when writing failed):
//	                     STATUS is the receiver's exit status, REASON
//	                     says why in words
//
// The sender reads the answer while it writes, so a refusal stops it at
// once instead of surfacing as a reset connection. The answer decides
// both exit statuses. Only after reading it, and the receiver's end, does
// the sender half-close: its FIN then tells the receiver that the answer
// arrived, and carries the ACK of the receiver's FIN, so the sender
// needs no TIME-WAIT and exits as soon as its FIN is acknowledged. The
// receiver, whose FIN went first, lingers (close.go).
const fileMagic = "utp-file-1\n"

type fileHeader struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

const (
	// maxAnswer bounds the receiver's answer line.
	maxAnswer = 512
	// answerGrace bounds how long a side waits for its answer to be
	// acknowledged, or for the other side's answer once the connection
	// failed under it.
	answerGrace = 5 * time.Second
	// verdictTimeout bounds the sender's wait for the answer once all is
	// sent: the receiver still has to write what it holds (at most its
	// receive buffer, 4 MiB by default) and hash it.
	verdictTimeout = 2 * time.Minute
)

// verdict is the receiver's answer as the sender reads it.
type verdict struct {
	ok      bool
	corrupt bool
	refused string // the receiver's reason, if it refused
	code    int    // with refused: the exit status to take
	err     error  // no answer could be read
}

// readVerdict reads the receiver's answer line.
func readVerdict(c io.Reader) verdict {
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxAnswer), maxAnswer).ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the receiver closed the connection without an answer")
		}
		return verdict{err: err}
	}
	line = strings.TrimSuffix(line, "\n")
	if rest, ok := strings.CutPrefix(line, "no "); ok {
		status, why, _ := strings.Cut(rest, " ")
		code, err := strconv.Atoi(status)
		switch {
		case err != nil:
			code = exitFailure
		case code != exitFileExists && code != exitDiskFull:
			code = exitFailure // a peer does not choose any other status of ours
		}
		return verdict{refused: printable(why), code: code}
	}
	switch line {
	case "ok":
		return verdict{ok: true}
	case "bad":
		return verdict{corrupt: true}
	}
	return verdict{err: fmt.Errorf("the receiver answered %q", printable(line))}
}

// printable drops what a terminal would interpret from a peer's text.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

// answer sends the receiver's answer line, half-closes, and waits (at most
// answerGrace) until the sender has acknowledged it, so that closing
// afterwards cannot lose it.
func answer(c *utp.Conn, line string) {
	c.Write([]byte(line + "\n"))
	c.CloseWrite()
	ctx, cancel := context.WithTimeout(context.Background(), answerGrace)
	defer cancel()
	c.Drain(ctx)
}

// refuse tells the sender why the receiver stops, and returns the
// receiver's own error.
func refuse(c *utp.Conn, local error, why string) error {
	code := exitFailure
	var ce *cliError
	if errors.As(local, &ce) {
		code = ce.code
	}
	answer(c, fmt.Sprintf("no %d %s", code, printable(why)))
	return local
}

// sendFile runs the sender's side of the file protocol over c, a
// connection of s.
func sendFile(c *utp.Conn, s *utp.Socket, r io.Reader, name string, size int64) (summary, error) {
	start := time.Now()
	verdicts := make(chan verdict, 1)
	go func() {
		v := readVerdict(c)
		if v.refused != "" || v.corrupt {
			// Unblock a Write waiting for a window the receiver will no
			// longer open.
			c.SetWriteDeadline(time.Now())
		}
		verdicts <- v
	}()
	file := &errReader{r: r}
	n, sum, err := writeFile(c, file, name, size)
	if err != nil && file.err == nil {
		// A receiver that refused and closed makes our writes fail:
		// its reason is the news.
		select {
		case v := <-verdicts:
			if v.refused != "" {
				return summary{}, v.refusal(name)
			}
		case <-time.After(answerGrace):
		}
	}
	if file.err != nil {
		return summary{}, fail(exitFailure, "reading %s: %v", name, firstLine(file.err))
	}
	if err != nil {
		return summary{}, fail(exitFailure, "sending %s: %v", name, err)
	}
	var v verdict
	select {
	case v = <-verdicts:
	case <-time.After(verdictTimeout):
		return summary{}, fail(exitFailure, "the receiver did not answer within %v of the end of %s", verdictTimeout, name)
	}
	switch {
	case v.err != nil:
		return summary{}, fail(exitFailure, "waiting for the receiver's answer on %s: %v", name, v.err)
	case v.refused != "":
		return summary{}, v.refusal(name)
	case v.corrupt:
		return summary{}, fail(exitCorrupt, "the receiver reports that %s arrived corrupted (SHA-256 mismatch)", name)
	}
	took := time.Since(start)
	// The transfer is settled; what follows closes the connection
	// politely, and its failure changes nothing. The receiver half-closed
	// after its answer: read to that end, then send our FIN.
	c.SetReadDeadline(time.Now().Add(answerGrace))
	io.Copy(io.Discard, c)
	c.CloseWrite()
	finish(c, s, answerGrace)
	return newSummary(name, n, took, c, sum), nil
}

func (v verdict) refusal(name string) error {
	return fail(v.code, "the receiver refused %s: %s", name, v.refused)
}

// writeFile writes the magic, the header, size bytes of r and their
// SHA-256 to c.
func writeFile(c *utp.Conn, r io.Reader, name string, size int64) (int64, []byte, error) {
	hdr, _ := json.Marshal(fileHeader{Name: name, Size: size})
	w := bufio.NewWriterSize(c, 256<<10)
	w.WriteString(fileMagic)
	w.Write(append(hdr, '\n'))
	h := sha256.New()
	bar := newProgress(name, size)
	n, err := io.Copy(io.MultiWriter(w, h, bar), io.LimitReader(r, size))
	bar.done()
	if err == nil && n != size {
		err = fmt.Errorf("file shrank to %d bytes while sending", n)
	}
	if err == nil {
		_, err = w.Write(h.Sum(nil))
	}
	if err == nil {
		err = w.Flush()
	}
	return n, h.Sum(nil), err
}

// errReader remembers the error of the reader it wraps, to tell a file
// that cannot be read from a connection that cannot be written.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// errWriter remembers the error of the writer it wraps.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// recvFile runs the receiver's side of the file protocol over c, a
// connection of s.
func recvFile(c *utp.Conn, s *utp.Socket, dir string, force bool) (summary, error) {
	start := time.Now()
	r := bufio.NewReaderSize(c, 256<<10)
	hdr, err := readHeader(r)
	if err != nil {
		return summary{}, refuse(c, err, err.Error())
	}
	path := filepath.Join(dir, hdr.Name)
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	file, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return summary{}, refuse(c, fail(exitFileExists, "%s exists; use --force to overwrite it", path),
			"it already has a file by that name (recv --force would overwrite it)")
	}
	if err != nil {
		return summary{}, refuse(c, fail(exitFailure, "cannot create %s: %v", path, firstLine(err)),
			"it cannot create the file: "+firstLine(err))
	}
	h := sha256.New()
	bar := newProgress(hdr.Name, hdr.Size)
	out := &errWriter{w: file}
	n, err := io.Copy(io.MultiWriter(out, h, bar), io.LimitReader(r, hdr.Size))
	bar.done()
	if cerr := file.Close(); err == nil && cerr != nil {
		err, out.err = cerr, cerr
	}
	if err != nil || n != hdr.Size {
		removeRegular(path)
		rerr := recvError(path, n, hdr.Size, err)
		if out.err != nil { // the sender is still there: say why we stop
			why := "writing the file failed: " + firstLine(out.err)
			if errors.Is(out.err, syscall.ENOSPC) {
				why = fmt.Sprintf("its disk is full (%s of %s written)", humanBytes(n), humanBytes(hdr.Size))
			}
			return summary{}, refuse(c, rerr, why)
		}
		return summary{}, rerr
	}
	return verify(c, s, r, h, path, hdr, n, start)
}

// verify compares the sender's hash with ours and tells the sender. A
// corrupt file at path (if any) is removed.
func verify(c *utp.Conn, s *utp.Socket, r io.Reader, h hash.Hash, path string, hdr fileHeader, n int64, start time.Time) (summary, error) {
	remove := func() {
		if path != "" {
			removeRegular(path)
		}
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, want); err != nil {
		remove()
		return summary{}, fail(exitFailure, "the sender stopped before its checksum: %v", err)
	}
	got := h.Sum(nil)
	if !bytes.Equal(got, want) {
		remove()
		answer(c, "bad")
		return summary{}, fail(exitCorrupt, "%s failed its SHA-256 check (sent %x..., received %x...); removed", hdr.Name, want[:8], got[:8])
	}
	took := time.Since(start)
	// The file is verified: that settles our exit status. The sender's
	// FIN, which follows its reading our answer, ends the connection
	// cleanly; wait for it (bounded) so that nothing unread resets it.
	c.Write([]byte("ok\n"))
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(answerGrace))
	io.Copy(io.Discard, r)
	finish(c, s, answerGrace)
	// Our answer has been acknowledged by now: the summary's RTT has a
	// sample even though we sent no data before.
	return newSummary(hdr.Name, n, took, c, got), nil
}

// removeRegular deletes a partial or corrupt download, but only if it is a
// regular file: with --force the target may be a device (never remove
// /dev/full because a write to it failed).
func removeRegular(path string) {
	if info, err := os.Lstat(path); err == nil && info.Mode().IsRegular() {
		os.Remove(path)
	}
}

func readHeader(r *bufio.Reader) (fileHeader, error) {
	magic, err := r.ReadString('\n')
	if err != nil || magic != fileMagic {
		return fileHeader{}, fail(exitFailure, "the peer is not 'utp send'")
	}
	line, err := r.ReadBytes('\n')
	var hdr fileHeader
	if err != nil || json.Unmarshal(line, &hdr) != nil || hdr.Size < 0 {
		return fileHeader{}, fail(exitFailure, "malformed file header from the sender")
	}
	// Only a plain name: a sender must not choose where we write.
	if hdr.Name == "" || hdr.Name != filepath.Base(hdr.Name) || hdr.Name == "." || hdr.Name == ".." {
		return fileHeader{}, fail(exitFailure, "the sender proposed an unsafe file name %q", hdr.Name)
	}
	return hdr, nil
}

func recvError(path string, n, size int64, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fail(exitDiskFull, "no space left on the device writing %s (%s of %s written)",
			path, humanBytes(n), humanBytes(size))
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return fail(exitFailure, "receiving %s: %v (partial file removed)", path, err)
}
