package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/inet256/go-utp/v2/cmd/utp/internal/fileproto"
)

// Where recv puts a file: under a temporary name in the target
// directory, ".NAME.utp-partial", which stays after a failure so that the
// same send run again resumes from it. Only a file whose SHA-256 matched
// is synced and then renamed (with --force) or linked (without: linking
// fails rather than replace a file that appeared meanwhile) to NAME, so a
// failure, a kill or a full disk never leaves a half-written NAME and
// never touches an existing one.

// partialName is the temporary name of name while it arrives.
func partialName(name string) string { return "." + name + ".utp-partial" }

// refusal is a receiver's local error that is also what it tells the
// sender: errors.As finds the *fileproto.Refusal in it.
type refusal struct {
	local *cliError
	ref   *fileproto.Refusal
}

func (r *refusal) Error() string { return r.local.Error() }

// As lets errors.As find both the CLI error and the protocol refusal.
func (r *refusal) As(target any) bool {
	switch t := target.(type) {
	case **fileproto.Refusal:
		*t = r.ref
		return true
	case **cliError:
		*t = r.local
		return true
	}
	return false
}

func refuseWith(local *cliError, reason fileproto.Reason, format string, args ...any) error {
	return &refusal{local: local, ref: fileproto.Refuse(reason, format, args...)}
}

// dirSink stores received files in a directory.
type dirSink struct {
	dir   string
	force bool
	out   *bars
	began []*progress // a bar per file begun, in order
	temp  string      // the temporary name of the last file begun
	piped bool        // the last file begun came from a pipe (size unknown)
}

func (s *dirSink) bars() []*progress { return s.began }

// partial says where what arrived of the last file is kept.
func (s *dirSink) partial() string {
	if s.temp == "" {
		return ""
	}
	if _, err := os.Stat(s.temp); err != nil {
		return ""
	}
	if s.piped {
		// A pipe cannot be read again from where it stopped.
		return "what arrived is kept as " + s.temp + "; a send from standard input starts over"
	}
	return "what arrived is kept as " + s.temp + "; the same send run again resumes it"
}

func (s *dirSink) Begin(h fileproto.Header) (fileproto.File, error) {
	final := filepath.Join(s.dir, h.Name)
	if info, err := os.Lstat(final); err == nil {
		if !s.force {
			return nil, refuseWith(&cliError{exitFileExists, fmt.Sprintf("%s exists; use --force to replace it", final)},
				fileproto.ReasonExists, "it already has a file by that name (recv --force would replace it)")
		}
		if !info.Mode().IsRegular() {
			return nil, refuseWith(&cliError{exitFailure, fmt.Sprintf("%s is not a regular file; not replacing it", final)},
				fileproto.ReasonIO, "its file by that name is not a regular file")
		}
	}
	temp := filepath.Join(s.dir, partialName(h.Name))
	f, err := createNoFollow(temp)
	if err == nil {
		if info, serr := f.Stat(); serr != nil || !info.Mode().IsRegular() {
			f.Close()
			err = errors.New("not a regular file")
		}
	}
	if err != nil {
		return nil, refuseWith(&cliError{exitFailure, fmt.Sprintf("cannot create %s: %s", temp, firstLine(err))},
			fileproto.ReasonIO, "it cannot create the file: %s", firstLine(err))
	}
	bar := s.out.start(h.Name, h.Size, nil)
	s.began, s.temp, s.piped = append(s.began, bar), temp, h.Size < 0
	return &dirFile{f: f, temp: temp, final: final, force: s.force, size: h.Size, bar: bar}, nil
}

// dirFile is one file arriving into a dirSink.
type dirFile struct {
	f           *os.File
	temp, final string
	force       bool
	size        int64
	n           int64 // bytes in the file
	bar         *progress
}

func (d *dirFile) Held() (int64, io.Reader, error) {
	info, err := d.f.Stat()
	if err != nil {
		return 0, nil, err
	}
	d.n = info.Size()
	if _, err := d.f.Seek(d.n, io.SeekStart); err != nil {
		return 0, nil, err
	}
	d.bar.set(d.n)
	return d.n, io.NewSectionReader(d.f, 0, d.n), nil
}

func (d *dirFile) Restart() error {
	d.n = 0
	d.bar.set(0)
	if err := d.f.Truncate(0); err != nil {
		return err
	}
	_, err := d.f.Seek(0, io.SeekStart)
	return err
}

func (d *dirFile) Write(p []byte) (int, error) {
	n, err := d.f.Write(p)
	d.n += int64(n)
	d.bar.add(int64(n))
	if err != nil {
		return n, d.writeError(err)
	}
	return n, nil
}

func (d *dirFile) writeError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return refuseWith(&cliError{exitDiskFull, fmt.Sprintf("no space left on the device writing %s (%s of %s written; kept for a resume)",
			d.final, humanBytes(d.n), sizeText(d.size))},
			fileproto.ReasonDiskFull, "its disk is full (%s of %s written)", humanBytes(d.n), sizeText(d.size))
	}
	return refuseWith(&cliError{exitFailure, fmt.Sprintf("writing %s: %s", d.temp, firstLine(err))},
		fileproto.ReasonIO, "writing the file failed: %s", firstLine(err))
}

// Commit syncs the verified file and gives it its name.
func (d *dirFile) Commit() error {
	d.bar.phase("storing")
	err := d.f.Sync()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.place()
	}
	if err != nil {
		return d.writeError(err)
	}
	syncDir(filepath.Dir(d.final))
	d.bar.finish()
	return nil
}

// place renames the temporary file to the final name. Without --force it
// links instead, which fails if the name was taken meanwhile.
func (d *dirFile) place() error {
	if d.force {
		return os.Rename(d.temp, d.final)
	}
	err := os.Link(d.temp, d.final)
	if errors.Is(err, os.ErrExist) {
		return refuseWith(&cliError{exitFileExists, fmt.Sprintf("%s appeared during the transfer; the verified file is kept as %s", d.final, d.temp)},
			fileproto.ReasonExists, "a file by that name appeared during the transfer")
	}
	if err != nil { // a file system without hard links
		if _, serr := os.Lstat(d.final); serr == nil {
			return refuseWith(&cliError{exitFileExists, fmt.Sprintf("%s exists", d.final)}, fileproto.ReasonExists, "a file by that name appeared")
		}
		return os.Rename(d.temp, d.final)
	}
	return os.Remove(d.temp)
}

// Abort keeps what arrived for a resume, unless it is known corrupt or
// empty.
func (d *dirFile) Abort(corrupt bool) {
	d.bar.stop()
	d.f.Close()
	if corrupt || d.n == 0 {
		os.Remove(d.temp)
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

// writerSink writes every file it receives to w (recv --stdout, and the
// demo's receiver with io.Discard). It cannot resume or take back what
// it wrote: a file that fails its check has reached w already.
type writerSink struct {
	w     io.Writer
	out   *bars
	began []*progress
}

func (s *writerSink) bars() []*progress { return s.began }
func (s *writerSink) partial() string   { return "" }

func (s *writerSink) Begin(h fileproto.Header) (fileproto.File, error) {
	bar := s.out.start(h.Name, h.Size, nil)
	s.began = append(s.began, bar)
	return &writerFile{w: s.w, bar: bar}, nil
}

type writerFile struct {
	w   io.Writer
	bar *progress
}

func (f *writerFile) Held() (int64, io.Reader, error) { return 0, nil, nil }
func (f *writerFile) Restart() error                  { return nil }
func (f *writerFile) Commit() error                   { f.bar.finish(); return nil }
func (f *writerFile) Abort(bool)                      { f.bar.stop() }

func (f *writerFile) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.bar.add(int64(n))
	if err != nil {
		return n, refuseWith(&cliError{exitFailure, fmt.Sprintf("writing to standard output: %s", firstLine(err))},
			fileproto.ReasonIO, "its output failed: %s", firstLine(err))
	}
	return n, nil
}

// sizeText is a size from a header, which may be unknown.
func sizeText(n int64) string {
	if n < 0 {
		return "?"
	}
	return humanBytes(n)
}
