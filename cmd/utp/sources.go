package main

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/inet256/go-utp/v2/cmd/utp/internal/fileproto"
)

// sources are the files a send offers, each read through its progress
// bar.
type sources struct {
	list  []fileproto.Source
	files []*os.File
	bars  []*barReader
	// lag is what the connection holds unacknowledged, set once it is
	// open: the bars show what arrived, not what was read.
	lag func() int64
}

// openSources opens every path ('-' is standard input, sent as name) and
// checks that each is a regular file with a name the receiver accepts.
func openSources(paths []string, name string, out *bars) (*sources, error) {
	s := &sources{}
	seen := map[string]bool{}
	for _, p := range paths {
		src, err := s.open(p, name, out)
		if err == nil && seen[src.Name] {
			err = fail(exitUsage, "two files named %s in one send", fileproto.Printable(src.Name))
		}
		if err != nil {
			s.close()
			return nil, err
		}
		seen[src.Name] = true
		s.list = append(s.list, src)
	}
	return s, nil
}

func (s *sources) open(path, name string, out *bars) (fileproto.Source, error) {
	var src fileproto.Source
	br := &barReader{all: s, out: out}
	if path == "-" {
		src.Header = fileproto.Header{Name: name, Size: -1}
		br.r = os.Stdin
		src.R = br
	} else {
		f, err := os.Open(path)
		if err != nil {
			return src, fail(exitFailure, "cannot read %s: %v", path, firstLine(err))
		}
		s.files = append(s.files, f)
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			return src, fail(exitFailure, "%s is not a regular file", path)
		}
		src.Header = fileproto.Header{Name: filepath.Base(path), Size: info.Size()}
		br.r = f
		src.R = &seekingBarReader{br, f}
	}
	if err := fileproto.ValidName(src.Name); err != nil {
		return src, fail(exitUsage, "cannot send %s: %v (the receiver would refuse it)", fileproto.Printable(src.Name), err)
	}
	br.name, br.size = src.Name, src.Size
	s.bars = append(s.bars, br)
	return src, nil
}

func (s *sources) close() {
	for _, f := range s.files {
		f.Close()
	}
}

// stopBars ends the bars still drawing: the session is over.
func (s *sources) stopBars() {
	for _, b := range s.bars {
		if b.bar != nil {
			b.bar.finish()
		}
	}
}

// took is how long file i took, from its first byte read to its end.
func (s *sources) took(i int) time.Duration {
	if b := s.bars[i].bar; b != nil {
		return b.took()
	}
	return 0
}

// barReader counts what the sender reads of a file on its bar, which
// starts at the first read (ending the previous file's, which the
// receiver has verified by then).
type barReader struct {
	r    io.Reader
	all  *sources
	out  *bars
	name string
	size int64
	bar  *progress
}

func (b *barReader) Read(p []byte) (int, error) {
	if b.bar == nil {
		for _, other := range b.all.bars {
			if other != b && other.bar != nil {
				other.bar.finish()
			}
		}
		b.bar = b.out.start(b.name, b.size, b.all.lag)
	}
	n, err := b.r.Read(p)
	b.bar.add(int64(n))
	if err == io.EOF {
		b.bar.phase("verifying")
	}
	return n, err
}

// seekingBarReader is a barReader over a file, which a resume seeks.
type seekingBarReader struct {
	*barReader
	f *os.File
}

func (s *seekingBarReader) Seek(off int64, whence int) (int64, error) {
	pos, err := s.f.Seek(off, whence)
	if s.bar != nil && err == nil {
		s.bar.set(pos)
	}
	return pos, err
}
