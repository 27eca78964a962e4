package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// The libtorrent tests move a real torrent between libtorrent-rasterbar
// (Debian's python3-libtorrent: its own uTP, utp_stream.cpp, the one in
// qBittorrent and Deluge) and a BitTorrent peer whose only transport is
// our Socket (bittorrent_test.go), in both roles and both dial
// directions. libtorrent checks the SHA-1 of every piece it downloads,
// and so does our peer.

// ltPython is the interpreter Debian's python3-libtorrent installs for;
// the python3 first on PATH may be another one.
const ltPython = "/usr/bin/python3"

// ltScript drives one libtorrent session (its doc string says how).
const ltScript = "testdata/ltpeer.py"

var ltSize = flag.Int("libtorrent.size", 4<<20, "bytes of the torrent each libtorrent test moves")

// ltPieceLen is the torrents' piece size: 16 blocks of 16 KiB.
const ltPieceLen = 256 << 10

// ltAvailable runs once: it says why libtorrent cannot be used, if so.
var ltAvailable = sync.OnceValue(func() error {
	out, err := exec.Command(ltPython, "-c", "import libtorrent").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import libtorrent (apt-get install python3-libtorrent; CI's .ci/run installs it): %v: %s",
			ltPython, err, bytes.TrimSpace(out))
	}
	return nil
})

// ltPeer is one libtorrent session in a python child process.
type ltPeer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // its stdout, closed at EOF
	stderr bytes.Buffer
	exited chan struct{}
	port   int
}

// startLibtorrent starts a session that adds the torrent at torrentPath,
// saving into (or seeding from) dir, and connects to connectTo unless it
// is empty. The test's cleanup ends it: by closing its standard input,
// then by its PID if it has not exited within 10 s.
func startLibtorrent(t *testing.T, ctx context.Context, torrentPath, dir, connectTo string) *ltPeer {
	t.Helper()
	if err := ltAvailable(); err != nil {
		t.Fatal(err)
	}
	args := []string{ltScript, torrentPath, dir}
	if connectTo != "" {
		args = append(args, connectTo)
	}
	p := &ltPeer{cmd: exec.Command(ltPython, args...), lines: make(chan string, 64), exited: make(chan struct{})}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	must(t, "libtorrent stdout", err)
	p.stdin, err = p.cmd.StdinPipe()
	must(t, "libtorrent stdin", err)
	must(t, "start libtorrent", p.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.end)
	f, err := p.expect(ctx, "PORT")
	must(t, "libtorrent listens", err)
	p.port, err = strconv.Atoi(f[0])
	must(t, "libtorrent's port", err)
	if p.port == 0 {
		t.Fatalf("step %q: port 0", "libtorrent listens")
	}
	return p
}

// end stops the child: EOF on its standard input, then SIGKILL to its
// PID if it is still running 10 s later. It drains the child's output
// meanwhile, so that the goroutine reading it can finish.
func (p *ltPeer) end() {
	p.stdin.Close()
	lines := p.lines
	timeout := time.After(10 * time.Second)
	for {
		select {
		case <-p.exited:
			return
		case _, ok := <-lines:
			if !ok {
				lines = nil
			}
		case <-timeout:
			p.cmd.Process.Kill()
			timeout = nil
		}
	}
}

// expect reads the child's lines until one starts with word, and returns
// that line's other words. An ERROR line, or the end of its output,
// fails.
func (p *ltPeer) expect(ctx context.Context, word string) ([]string, error) {
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				<-p.exited
				return nil, fmt.Errorf("libtorrent exited before %s: %v; stderr: %s", word, p.cmd.ProcessState, p.stderr.String())
			}
			f := strings.Fields(l)
			switch {
			case len(f) > 0 && f[0] == word:
				return f[1:], nil
			case len(f) > 0 && f[0] == "ERROR":
				return nil, fmt.Errorf("libtorrent: %s", l)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for libtorrent's %s: %w", word, context.Cause(ctx))
		}
	}
}

// stop ends the session and returns the payload bytes it uploaded and
// downloaded.
func (p *ltPeer) stop(ctx context.Context) (up, down int64, err error) {
	p.stdin.Close()
	f, err := p.expect(ctx, "STATS")
	if err != nil {
		return 0, 0, err
	}
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("STATS %q", f)
	}
	up, _ = strconv.ParseInt(f[0], 10, 64)
	down, _ = strconv.ParseInt(f[1], 10, 64)
	select {
	case <-p.exited:
	case <-ctx.Done():
		return up, down, ctx.Err()
	}
	if !p.cmd.ProcessState.Success() {
		return up, down, fmt.Errorf("libtorrent exited: %v; stderr: %s", p.cmd.ProcessState, p.stderr.String())
	}
	return up, down, nil
}

// ltSetup is one test's torrent and directories: ours (content when we
// seed) and libtorrent's (its save path).
type ltSetup struct {
	tor         *torrentFile
	torrentPath string
	ltDir       string
}

func newLTSetup(t *testing.T, libtorrentSeeds bool) ltSetup {
	tor := newTorrent("interop.bin", 7, *ltSize, ltPieceLen)
	s := ltSetup{tor: tor, ltDir: t.TempDir()}
	var err error
	s.torrentPath, err = tor.writeMetainfo(t.TempDir())
	must(t, "write the .torrent", err)
	if libtorrentSeeds {
		must(t, "write libtorrent's content", tor.writeData(s.ltDir))
	}
	return s
}

// btConnect opens our peer-wire connection with libtorrent lt: by
// dialing it, or by accepting its connections until one speaks the
// plaintext protocol. libtorrent's default (out_enc_policy pe_enabled)
// first tries an encrypted handshake when it dials, and on failure
// reconnects in plaintext; our peer has no encryption.
func btConnect(t *testing.T, ctx context.Context, us *utp.Socket, lt *ltPeer, weDial bool, tor *torrentFile) *btConn {
	t.Helper()
	dl, _ := ctx.Deadline()
	if weDial {
		c, err := us.DialUTP(ctx, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lt.port})
		must(t, "we dial libtorrent", err)
		t.Cleanup(func() { c.Close() })
		must(t, "set our deadline", c.SetDeadline(dl))
		bc, err := btHandshake(c, tor.infoHash, "-GU0200-interop-test")
		must(t, "handshake", err)
		return bc
	}
	for attempt := 1; ; attempt++ {
		c, err := acceptCtx(ctx, us.Accept)
		must(t, "we accept libtorrent", err)
		t.Cleanup(func() { c.Close() })
		must(t, "set our deadline", c.SetDeadline(dl))
		bc, err := btHandshake(c, tor.infoHash, "-GU0200-interop-test")
		if errors.Is(err, errNotPlaintext) {
			t.Logf("connection %d from libtorrent: %v; waiting for its plaintext retry", attempt, err)
			c.Close()
			continue
		}
		must(t, "handshake", err)
		return bc
	}
}

// TestLibtorrent: a real torrent moves between libtorrent and our
// BitTorrent peer over uTP (libtorrent's TCP off), each side seeding in
// turn, each side dialing in turn, with our Socket at its default options.
// Every piece is SHA-1-checked by the side that downloads it, and what
// libtorrent saved is checked again on disk.
func TestLibtorrent(t *testing.T) {
	for _, weSeed := range []bool{true, false} {
		for _, r := range roles {
			name := map[bool]string{true: "we_seed", false: "we_leech"}[weSeed] + "/" + r.name
			t.Run(name, func(t *testing.T) { libtorrentTransfer(t, weSeed, r.weDial) })
		}
	}
}

func libtorrentTransfer(t *testing.T, weSeed, weDial bool) {
	// The transfer is bounded by progress (watchConn below), its total
	// only by go test's -timeout (transferCtx).
	ctx := transferCtx(t)
	s := newLTSetup(t, !weSeed)
	// Default options: libtorrent reads every datagram into a 1,500-byte
	// buffer (udp_socket.hpp) and advertises no size, so our Socket keeps
	// its datagrams within that.
	us := listenOurs(t)
	connectTo := ""
	if !weDial {
		connectTo = us.Addr().String()
	}
	lt := startLibtorrent(t, ctx, s.torrentPath, s.ltDir, connectTo)
	_, err := lt.expect(ctx, "READY")
	must(t, "libtorrent checks the torrent", err)
	bc := btConnect(t, ctx, us, lt, weDial, s.tor)
	ctx = watchConn(ctx, bc.c.(*utp.Conn))
	start := time.Now()
	var took time.Duration
	if weSeed {
		// Our seeding ending early (a bad request, a broken connection)
		// ends the wait for libtorrent 10 s later, not at the deadline.
		// Not at once: libtorrent disconnects as soon as it has every
		// piece, which may reach us before its DONE line.
		seedCtx, seedEnded := context.WithCancel(ctx)
		defer seedEnded()
		served := make(chan error, 1)
		go func() {
			_, err := btSeed(bc, s.tor)
			served <- err
			select {
			case <-time.After(10 * time.Second):
				seedEnded()
			case <-seedCtx.Done():
			}
		}()
		_, err := lt.expect(seedCtx, "DONE")
		took = time.Since(start)
		bc.c.Close()
		if err != nil {
			t.Fatalf("step %q: %v; our seeding ended with %v", "libtorrent downloads every piece", err, <-served)
		}
		<-served // ends with the close above
	} else {
		data, err := btLeech(bc, s.tor)
		took = time.Since(start)
		if err != nil {
			t.Fatalf("step %q: %v %s", "we download every piece", err, endCause(ctx))
		}
		if !bytes.Equal(data, s.tor.data) {
			t.Fatal("step \"we download every piece\": the content differs though every SHA-1 matched")
		}
		bc.c.Close()
	}
	up, down, err := lt.stop(ctx)
	must(t, "libtorrent stops", err)
	if weSeed {
		must(t, "libtorrent's saved content", s.tor.checkData(s.ltDir))
		if down < int64(*ltSize) {
			t.Errorf("step %q: libtorrent says it downloaded %d bytes, want at least %d", "libtorrent's count", down, *ltSize)
		}
	} else if up < int64(*ltSize) {
		t.Errorf("step %q: libtorrent says it uploaded %d bytes, want at least %d", "libtorrent's count", up, *ltSize)
	}
	t.Logf("%s in %v (%.1f MB/s), from the handshake to the last piece; libtorrent up %d, down %d",
		mib(int64(*ltSize)), took.Round(time.Millisecond), float64(*ltSize)/took.Seconds()/1e6, up, down)
}

// TestLibtorrentItself: the same torrent between two libtorrent sessions,
// the reference for TestLibtorrent's rates; it also proves the harness.
func TestLibtorrentItself(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	s := newLTSetup(t, true)
	seed := startLibtorrent(t, ctx, s.torrentPath, s.ltDir, "")
	_, err := seed.expect(ctx, "READY")
	must(t, "the seed checks its content", err)
	leechDir := t.TempDir()
	leech := startLibtorrent(t, ctx, s.torrentPath, leechDir, fmt.Sprintf("127.0.0.1:%d", seed.port))
	_, err = leech.expect(ctx, "READY")
	must(t, "the leech adds the torrent", err)
	start := time.Now()
	_, err = leech.expect(ctx, "DONE")
	took := time.Since(start)
	must(t, "the leech downloads every piece", err)
	_, _, err = leech.stop(ctx)
	must(t, "the leech stops", err)
	must(t, "the leech's saved content", s.tor.checkData(leechDir))
	t.Logf("%s in %v (%.1f MB/s), from the leech's READY (before it connects) to its last piece",
		mib(int64(*ltSize)), took.Round(time.Millisecond), float64(*ltSize)/took.Seconds()/1e6)
}
