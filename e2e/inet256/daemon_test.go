package inet256e2e

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inet256/inet256/client/go/inet256client"
	"github.com/inet256/inet256/pkg/inet256"

	"github.com/inet256/go-utp/v2/inet256adapter"
)

// daemon is one reference inet256 daemon process with its own directory
// (key, config, API socket, log) under a short path in /tmp: unix socket
// paths must stay under 108 bytes.
type daemon struct {
	t      testing.TB
	name   string
	dir    string
	sock   string
	port   int
	addr   inet256.Addr // the daemon's own node
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
}

// socketDir returns a new short temporary directory, removed when t ends
// (after the daemons using it, whose cleanups run first).
func socketDir(t testing.TB) string {
	base := "/tmp"
	if !fileExists(base) {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "i256-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newDaemon makes a daemon's key and picks its UDP port; start runs it.
func newDaemon(t testing.TB, dir, name string) *daemon {
	bin := mustDaemonBinary(t)
	d := &daemon{t: t, name: name, dir: dir, sock: filepath.Join(dir, name+".sock"), port: freeUDPPort(t)}
	key, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		t.Fatalf("inet256 keygen: %v", err)
	}
	keyPath := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "addr", "--private-key", keyPath).Output()
	if err != nil {
		t.Fatalf("inet256 addr: %v", err)
	}
	if err := d.addr.UnmarshalText(bytes.TrimSpace(out)); err != nil {
		t.Fatalf("inet256 addr printed %q: %v", out, err)
	}
	return d
}

func mustDaemonBinary(t testing.TB) string {
	bin, err := daemonBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// start writes the config, peered with peers, and runs the daemon. The
// process is killed when the test ends, also on failure or panic.
func (d *daemon) start(peers ...*daemon) {
	t := d.t
	var ps []string
	for _, p := range peers {
		ps = append(ps, fmt.Sprintf(`{id: %v, addrs: ["quic+udp://%v@127.0.0.1:%d"]}`, p.addr, p.addr, p.port))
	}
	cfg := fmt.Sprintf(`private_key_path: ./%s.pem
api_endpoint: unix://%s
network: {beaconnet: {}}
transports: [{udp: 127.0.0.1:%d}]
peers: [%s]
discovery: []
`, d.name, d.sock, d.port, strings.Join(ps, ", "))
	cfgPath := filepath.Join(d.dir, d.name+".yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The daemon has no signal handler and leaves its socket behind when
	// killed: remove any stale one first.
	os.Remove(d.sock)
	logf, err := os.Create(filepath.Join(d.dir, d.name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = daemonCommand(mustDaemonBinary(t), "daemon", "--config", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = daemonProcAttr()
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() {
		d.cmd.Wait()
		logf.Close()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			d.dumpLog()
		}
	})
}

// kill ends the daemon, by its PID, and waits for it; the socket file it
// leaves is removed. It is safe to call twice.
func (d *daemon) kill() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Kill() // SIGKILL to this PID only
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			d.t.Errorf("daemon %s (pid %d) did not exit after SIGKILL", d.name, d.cmd.Process.Pid)
		}
	}
	os.Remove(d.sock)
}

// dumpLog logs the daemon's last 40 lines, leaving out the line it
// repeats for every frame of a dropped node (droppedLines counts those),
// so that what came before the drop shows.
func (d *daemon) dumpLog() {
	b, _ := os.ReadFile(filepath.Join(d.dir, d.name+".log"))
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(l, droppedMsg) || !strings.Contains(l, droppedCaller) {
			lines = append(lines, l)
		}
	}
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	dropped, first, _ := d.droppedLines()
	d.t.Logf("daemon %s log (last %d lines, without %d lines %q from %s):\n%s", d.name, len(lines),
		dropped, droppedMsg, first.Format("15:04:05.000"), strings.Join(lines, "\n"))
}

func (d *daemon) endpoint() string { return "unix://" + d.sock }

// get fetches path from the daemon's API over its unix socket.
func (d *daemon) get(ctx context.Context, path string) ([]byte, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.sock)
		},
		DisableKeepAlives: true, // no idle connection, no goroutine left behind
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://inet256"+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return body, err
}

// healthy reports whether the API answers /healthz as the daemon does.
func (d *daemon) healthy(ctx context.Context) bool {
	b, err := d.get(ctx, "/healthz")
	return err == nil && strings.TrimSpace(string(b)) == "INET256"
}

// sees reports whether /admin/status shows peer with a LastSeen time.
func (d *daemon) sees(ctx context.Context, peer inet256.Addr) bool {
	b, err := d.get(ctx, "/admin/status")
	if err != nil {
		return false
	}
	var st struct {
		Peers []struct {
			Addr     inet256.Addr
			LastSeen map[string]json.RawMessage
		}
	}
	if json.Unmarshal(b, &st) != nil {
		return false
	}
	for _, p := range st.Peers {
		if p.Addr == peer && len(p.LastSeen) > 0 {
			return true
		}
	}
	return false
}

// poll calls cond every 50 ms until it holds or ctx ends, also failing if
// one of ds exits.
func poll(ctx context.Context, what string, ds []*daemon, cond func(ctx context.Context) bool) error {
	for {
		for _, d := range ds {
			select {
			case <-d.exited:
				return fmt.Errorf("%s: daemon %s exited", what, d.name)
			default:
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok := cond(cctx)
		cancel()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// topology is two nodes, each opened through a daemon's API, that have
// resolved each other.
type topology struct {
	name    string
	daemons []*daemon
	nodes   [2]inet256.Node               // each nodes[i] is closed by whoever owns it
	owners  [2]*daemon                    // the daemon serving nodes[i]
	pcs     [2]*inet256adapter.PacketConn // over nodes, once sockets made them
}

// readyTimeout bounds the wait for daemons to start, peer and route.
const readyTimeout = 60 * time.Second

// twoDaemons starts two daemons peered over loopback and opens one node
// on each.
func twoDaemons(t testing.TB) *topology {
	dir := socketDir(t)
	a, b := newDaemon(t, dir, "a"), newDaemon(t, dir, "b")
	a.start(b)
	b.start(a)
	top := &topology{name: "two-daemons", daemons: []*daemon{a, b}, owners: [2]*daemon{a, b}}
	top.ready(t)
	return top
}

// oneDaemon starts one daemon and opens two nodes on it.
func oneDaemon(t testing.TB) *topology {
	dir := socketDir(t)
	a := newDaemon(t, dir, "a")
	a.start()
	top := &topology{name: "one-daemon", daemons: []*daemon{a}, owners: [2]*daemon{a, a}}
	top.ready(t)
	return top
}

// ready waits until the APIs answer and the daemons see each other, opens
// the nodes, and waits until the nodes resolve each other.
func (top *topology) ready(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for _, d := range top.daemons {
		if err := poll(ctx, "API of daemon "+d.name, top.daemons, d.healthy); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range top.daemons {
		for _, p := range top.daemons {
			if p != d {
				err := poll(ctx, fmt.Sprintf("daemon %s seeing %s", d.name, p.name), top.daemons,
					func(ctx context.Context) bool { return d.sees(ctx, p.addr) })
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	top.nodes = top.openPair(ctx, t)
}

// openPair opens a node on each owner daemon and returns them once they
// resolve each other and a message has crossed each way, twice.
//
// Resolving is not routing: measured here, the first message from a node
// to a peer it has not reached before can wait about 3 s in the daemon
// (mesh256's routers.Network.Tell retries for up to 3 s), and meanwhile
// the daemon reads nothing else from that node, keepalives included; its
// keepalive timeout is also 3 s (inet256ipc.ServeNode), so the node is
// sometimes dropped. The second exchange proves both nodes survived the
// first; a pair that did not is replaced, up to three times.
func (top *topology) openPair(ctx context.Context, t testing.TB) [2]inet256.Node {
	t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var nodes [2]inet256.Node
		for i, d := range top.owners {
			nodes[i] = openNode(ctx, t, d)
		}
		if err = pairReady(ctx, top.daemons, nodes); err == nil {
			return nodes
		}
		t.Logf("%s: nodes not ready (%v); opening new ones", top.name, err)
		nodes[0].Close()
		nodes[1].Close()
	}
	for _, d := range top.daemons {
		d.dumpLog()
	}
	t.Fatalf("%s: %v", top.name, err)
	return [2]inet256.Node{}
}

// pairReady waits until the two nodes resolve each other, then exchanges
// messages both ways twice, the second time within a short bound.
func pairReady(ctx context.Context, ds []*daemon, nodes [2]inet256.Node) error {
	for i, n := range nodes {
		peer := nodes[1-i].LocalAddr()
		err := poll(ctx, fmt.Sprintf("node %d resolving node %d", i, 1-i), ds, func(ctx context.Context) bool {
			_, err := n.LookupPublicKey(ctx, peer)
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	for round, bound := range []time.Duration{20 * time.Second, 2 * time.Second} {
		for i := range nodes {
			rctx, cancel := context.WithTimeout(ctx, bound)
			err := roundTrip(rctx, nodes[i], nodes[1-i])
			cancel()
			if err != nil {
				return fmt.Errorf("round %d, node %d to node %d: %w", round, i, 1-i, err)
			}
		}
	}
	return nil
}

// readyMsg is what roundTrip sends. It is not uTP, so one that arrives
// late at a Socket is set aside as a foreign datagram.
var readyMsg = []byte("inet256e2e: ready?")

// roundTrip sends readyMsg from src to dst every 250 ms until dst has
// received one or ctx ends.
func roundTrip(ctx context.Context, src, dst inet256.Node) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan struct{})
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		// Receive on a daemon-backed node ignores Close: only ctx ends it.
		for {
			var ok bool
			err := dst.Receive(ctx, func(m inet256.Message) {
				ok = m.Src == src.LocalAddr() && bytes.Equal(m.Payload, readyMsg)
			})
			if err != nil {
				return
			}
			if ok {
				close(got)
				return
			}
		}
	}()
	defer func() { <-recvDone }()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if err := src.Send(ctx, dst.LocalAddr(), readyMsg); err != nil {
			return err
		}
		select {
		case <-got:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// openNode opens a node with a fresh key through d's API. The node is
// closed when the test ends unless its owner closed it first.
func openNode(ctx context.Context, t testing.TB, d *daemon) inet256.Node {
	srv, err := inet256client.NewClient(d.endpoint())
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := inet256.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := srv.Open(ctx, priv)
	if err != nil {
		t.Fatalf("opening a node on daemon %s: %v", d.name, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
