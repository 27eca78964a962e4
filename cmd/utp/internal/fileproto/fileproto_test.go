package fileproto

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memSink keeps received files in memory. held are partial files from
// an earlier attempt; refuse, if set, decides Begin; failAfter, if
// positive, fails writes past that many bytes of a file with failErr.
type memSink struct {
	mu        sync.Mutex
	held      map[string][]byte
	stored    map[string][]byte
	aborted   map[string]bool // name: aborted as corrupt
	refuse    func(Header) error
	failAfter int64
	failErr   error
}

func newMemSink() *memSink {
	return &memSink{held: map[string][]byte{}, stored: map[string][]byte{}, aborted: map[string]bool{}}
}

type memFile struct {
	s    *memSink
	name string
	data []byte
}

func (s *memSink) Begin(h Header) (File, error) {
	if s.refuse != nil {
		if err := s.refuse(h); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &memFile{s: s, name: h.Name, data: append([]byte(nil), s.held[h.Name]...)}, nil
}

func (f *memFile) Held() (int64, io.Reader, error) {
	return int64(len(f.data)), bytes.NewReader(f.data), nil
}
func (f *memFile) Restart() error { f.data = f.data[:0]; return nil }
func (f *memFile) Write(p []byte) (int, error) {
	if f.s.failAfter > 0 && int64(len(f.data)+len(p)) > f.s.failAfter {
		return 0, f.s.failErr
	}
	f.data = append(f.data, p...)
	return len(p), nil
}
func (f *memFile) Commit() error {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	f.s.stored[f.name] = f.data
	delete(f.s.held, f.name)
	return nil
}
func (f *memFile) Abort(corrupt bool) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	f.s.aborted[f.name] = corrupt
	if corrupt {
		delete(f.s.held, f.name)
	} else {
		f.s.held[f.name] = f.data
	}
}

// onlyReader hides a reader's Seek: a pipe.
type onlyReader struct{ io.Reader }

func data(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type outcome struct {
	sent    []Sent
	sendErr error
	got     []Received
	recvErr error
}

// transfer runs Send and Receive over a net.Pipe, each end closed when
// its side returns, bounded in time.
func transfer(t *testing.T, files []Source, sink Sink) outcome {
	t.Helper()
	a, b := net.Pipe()
	var o outcome
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		o.sent, o.sendErr = Send(a, files, Config{Idle: 5 * time.Second})
		a.Close()
	}()
	go func() {
		defer wg.Done()
		o.got, o.recvErr = Receive(b, sink, Config{Idle: 5 * time.Second})
		b.Close()
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		a.Close()
		b.Close()
		<-done
		t.Fatal("the transfer did not end within 20 s")
	}
	return o
}

func src(name string, b []byte) Source {
	return Source{Header: Header{Name: name, Size: int64(len(b))}, R: bytes.NewReader(b)}
}

// Several files, empty to larger than a frame, and one of unknown size,
// arrive byte-exact with their hashes.
func TestRoundTrip(t *testing.T) {
	contents := map[string][]byte{"empty": nil, "one": {7}, "big": data(1, 3*MaxChunk/2+17), "pipe": data(2, 100_000)}
	files := []Source{src("empty", nil), src("one", []byte{7}), src("big", contents["big"]),
		{Header: Header{Name: "pipe", Size: -1}, R: onlyReader{bytes.NewReader(contents["pipe"])}}}
	sink := newMemSink()
	o := transfer(t, files, sink)
	if o.sendErr != nil || o.recvErr != nil {
		t.Fatalf("send: %v, receive: %v", o.sendErr, o.recvErr)
	}
	if len(o.sent) != 4 || len(o.got) != 4 {
		t.Fatalf("sent %d, received %d files", len(o.sent), len(o.got))
	}
	for i, g := range o.got {
		want := contents[g.Name]
		if !bytes.Equal(sink.stored[g.Name], want) || g.Sum != sha256.Sum256(want) || o.sent[i].Sum != g.Sum {
			t.Fatalf("%s: stored %d bytes of %d, sums %x / %x", g.Name, len(sink.stored[g.Name]), len(want), g.Sum[:4], o.sent[i].Sum[:4])
		}
	}
}

// A receiver that holds a true prefix gets only the rest; a stale
// prefix, or a source that cannot seek back, restarts from 0. Either way
// the whole file is stored and verified.
func TestResume(t *testing.T) {
	full := data(3, 200_000)
	stale := append([]byte{}, full[:50_000]...)
	stale[100] ^= 1
	cases := []struct {
		name       string
		held       []byte
		seekable   bool
		wantOffset int64
	}{
		{"true prefix", full[:70_000], true, 70_000},
		{"whole file held", full, true, 200_000},
		{"stale prefix", stale, true, 0},
		{"longer than the file", append(append([]byte{}, full...), 1, 2), true, 0},
		{"pipe", full[:70_000], false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := newMemSink()
			sink.held["f"] = c.held
			s := src("f", full)
			if !c.seekable {
				s.R = onlyReader{s.R}
			}
			o := transfer(t, []Source{s}, sink)
			if o.sendErr != nil || o.recvErr != nil {
				t.Fatalf("send: %v, receive: %v", o.sendErr, o.recvErr)
			}
			if o.got[0].Offset != c.wantOffset || o.sent[0].Offset != c.wantOffset || o.got[0].Bytes != int64(len(full))-c.wantOffset {
				t.Fatalf("resumed at %d/%d with %d bytes, want %d", o.got[0].Offset, o.sent[0].Offset, o.got[0].Bytes, c.wantOffset)
			}
			if !bytes.Equal(sink.stored["f"], full) {
				t.Fatal("the stored file differs")
			}
		})
	}
}

// A refusal reaches the sender with its reason, whether at the offer or
// while data flows, and what was written is kept for a resume.
func TestRefusals(t *testing.T) {
	t.Run("at the offer", func(t *testing.T) {
		sink := newMemSink()
		sink.refuse = func(Header) error { return Refuse(ReasonExists, "it has one") }
		o := transfer(t, []Source{src("f", data(4, 1000))}, sink)
		var ref *Refusal
		if !errors.As(o.sendErr, &ref) || ref.Reason != ReasonExists || ref.Text != "it has one" {
			t.Fatalf("sender got %v", o.sendErr)
		}
		if !errors.As(o.recvErr, &ref) || ref.Reason != ReasonExists {
			t.Fatalf("receiver returned %v", o.recvErr)
		}
	})
	t.Run("disk full mid-way", func(t *testing.T) {
		sink := newMemSink()
		sink.failAfter, sink.failErr = 300_000, Refuse(ReasonDiskFull, "no space")
		o := transfer(t, []Source{src("f", data(5, 2_000_000))}, sink)
		var ref *Refusal
		if !errors.As(o.sendErr, &ref) || ref.Reason != ReasonDiskFull {
			t.Fatalf("sender got %v", o.sendErr)
		}
		if corrupt, ok := sink.aborted["f"]; !ok || corrupt || len(sink.held["f"]) == 0 {
			t.Fatalf("aborted %v (corrupt %v), kept %d bytes", ok, corrupt, len(sink.held["f"]))
		}
	})
}

// A receiver that refuses at once (busy, denied) can have its refusal
// read before the sender's first line is written; that write is then
// stopped, and the sender reports the refusal, not the stopped write
// (which 'utp send' printed as an idle timeout).
func TestRefusalBeforeFirstLine(t *testing.T) {
	peer := &refusingPeer{refusal: []byte(Refuse(ReasonBusy, "it is busy").line() + "\n"), stopped: make(chan struct{})}
	_, err := Send(peer, []Source{src("f", data(6, 1000))}, Config{Idle: time.Minute})
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Reason != ReasonBusy {
		t.Fatalf("sender got %v, want the busy refusal", err)
	}
}

// refusingPeer is a stream whose peer sent a refusal as its first line
// and reads nothing: a Write blocks until its deadline is set to now (as
// a net.Conn's does), and Reads after the refusal end at that moment too.
type refusingPeer struct {
	refusal []byte
	once    sync.Once
	stopped chan struct{} // closed by SetWriteDeadline
}

func (p *refusingPeer) Read(b []byte) (int, error) {
	if len(p.refusal) > 0 {
		n := copy(b, p.refusal)
		p.refusal = p.refusal[n:]
		return n, nil
	}
	<-p.stopped
	return 0, io.EOF
}

func (p *refusingPeer) Write(b []byte) (int, error) {
	<-p.stopped
	return 0, os.ErrDeadlineExceeded
}

func (p *refusingPeer) SetReadDeadline(time.Time) error { return nil }

func (p *refusingPeer) SetWriteDeadline(t time.Time) error {
	if !t.After(time.Now()) {
		p.once.Do(func() { close(p.stopped) })
	}
	return nil
}

// failingReader fails after n bytes, as a file on a bad disk.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("input/output error")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// A sender that cannot read its file says so in band: the receiver
// returns ErrSenderAborted and keeps what it has.
func TestSenderAborts(t *testing.T) {
	sink := newMemSink()
	s := Source{Header: Header{Name: "f", Size: 500_000}, R: &failingReader{bytes.NewReader(data(6, 500_000)), 200_000}}
	o := transfer(t, []Source{s}, sink)
	if o.sendErr == nil || !strings.Contains(o.sendErr.Error(), "input/output error") {
		t.Fatalf("sender: %v", o.sendErr)
	}
	if !errors.Is(o.recvErr, ErrSenderAborted) || len(sink.held["f"]) != 200_000 {
		t.Fatalf("receiver: %v, kept %d bytes", o.recvErr, len(sink.held["f"]))
	}
}

// script plays a sender's side from raw bytes and returns the
// receiver's error and what it answered.
func script(t *testing.T, sink Sink, raw []byte) (string, error) {
	t.Helper()
	a, b := net.Pipe()
	answers := make(chan string, 1)
	go func() {
		var out bytes.Buffer
		go a.Write(raw) // the receiver may stop reading: closing a ends this
		io.Copy(&out, a)
		answers <- out.String()
	}()
	_, err := Receive(b, sink, Config{Idle: time.Second})
	b.Close()
	ans := <-answers
	a.Close()
	return ans, err
}

// A hash that does not match stores nothing, answers "bad" and discards
// the data; a hostile sender's lines, names and frames are refused with
// a reason and never panic or hang the receiver.
func TestHostileSender(t *testing.T) {
	start := Version + "\n"
	good := data(7, 1000)
	frame := func(b []byte) string {
		var w bytes.Buffer
		writeFrame(&w, b)
		return w.String()
	}
	end := func(sum [32]byte) string { return "\x00\x00\x00\x00" + string(sum[:]) }
	header := func(name string, size int) string {
		return Header{Name: name, Size: int64(size)}.line() + "\n"
	}
	cases := []struct {
		name, raw  string
		wantErr    error
		wantAnswer string
	}{
		{"wrong hash", start + header("f", 1000) + "start 0\n" + frame(good) + end([32]byte{}), ErrCorrupt, "bad\n"},
		{"not the protocol", "GET / HTTP/1.1\n", ErrProtocol, "no protocol "},
		{"endless line", start + strings.Repeat("x", 100_000), ErrProtocol, ""},
		{"path in the name", start + header("../etc/passwd", 1), nil, "no bad-name "},
		{"separator", start + header("a/b", 1), nil, "no bad-name "},
		{"escape sequence", start + header("\x1b[2Jx", 1), nil, "no bad-name "},
		{"bidi override", start + header("a\u202egnp.exe", 1), nil, "no bad-name "},
		{"dot dot", start + header("..", 1), nil, "no bad-name "},
		{"too long", start + header(strings.Repeat("n", MaxName+1), 1), nil, "no bad-name "},
		{"negative size", start + `file {"name":"f","size":-5}` + "\n", ErrProtocol, "no protocol "},
		{"bad start", start + header("f", 1000) + "start 77\n", ErrProtocol, "no protocol "},
		{"more than announced", start + header("f", 10) + "start 0\n" + frame(good), ErrProtocol, "no protocol "},
		{"huge frame", start + header("f", -1) + "start 0\n" + "\x7f\xff\xff\xff", ErrProtocol, "no protocol "},
		// The stream stays open: the idle timeout ends the wait.
		{"stops mid-frame", start + header("f", 1000) + "start 0\n" + frame(good)[:500], os.ErrDeadlineExceeded, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := newMemSink()
			ans, err := script(t, sink, []byte(c.raw))
			var ref *Refusal
			switch {
			case c.wantErr != nil && !errors.Is(err, c.wantErr):
				t.Fatalf("error %v, want %v", err, c.wantErr)
			case c.wantErr == nil && (!errors.As(err, &ref) || ref.Reason != ReasonBadName):
				t.Fatalf("error %v, want a bad-name refusal", err)
			}
			if !strings.Contains(ans, c.wantAnswer) {
				t.Fatalf("answers %q, want %q", ans, c.wantAnswer)
			}
			if len(sink.stored) != 0 {
				t.Fatal("something was stored")
			}
			if c.wantErr == ErrCorrupt && !sink.aborted["f"] {
				t.Fatal("the corrupt file was not discarded")
			}
		})
	}
}

// Printable leaves printable text alone and escapes what a terminal
// would interpret.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain name.txt": "plain name.txt",
		"\x1b[2Jx":       `\x1b[2Jx`,
		"a\u202eb":       `a\u202eb`,
		"bad\xffutf8":    `bad\xffutf8`,
		"tab\there":      `tab\there`,
		"é ü 日本":         "é ü 日本",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzReceive feeds the receiver arbitrary bytes as a sender: it never
// panics or hangs, and whatever it stores matches the hash it verified.
func FuzzReceive(f *testing.F) {
	good := data(8, 300)
	var w bytes.Buffer
	w.WriteString(Version + "\n" + Header{Name: "f", Size: 300}.line() + "\nstart 0\n")
	writeFrame(&w, good)
	sum := sha256.Sum256(good)
	w.WriteString("\x00\x00\x00\x00" + string(sum[:]) + "done\n")
	f.Add(w.Bytes())
	f.Add([]byte(Version + "\nfile {\"name\":\"x\",\"size\":-1}\nstart 0\n\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sink := newMemSink()
		sink.held["f"] = good[:100]
		got, _ := Receive(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(raw), io.Discard}, sink, Config{})
		for _, g := range got {
			if sha256.Sum256(sink.stored[g.Name]) != g.Sum {
				t.Fatalf("%s stored with a sum that does not match", g.Name)
			}
			if ValidName(g.Name) != nil {
				t.Fatalf("stored under the invalid name %q", g.Name)
			}
		}
	})
}

// FuzzParseHeader: any header line either parses to a valid name and a
// size of -1 or more, or is refused; never a panic.
func FuzzParseHeader(f *testing.F) {
	f.Add(`{"name":"a.bin","size":10}`)
	f.Add(`{"name":"../x","size":1}`)
	f.Add(`{"name":"a","size":-1,"x":1}`)
	f.Fuzz(func(t *testing.T, line string) {
		h, err := ParseHeader(line)
		if err == nil && (ValidName(h.Name) != nil || h.Size < -1) {
			t.Fatalf("accepted %+v", h)
		}
	})
}
