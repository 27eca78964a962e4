package proto

import (
	"fmt"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// newSearch returns a search as a Conn with these settings starts it.
func newSearch(base, ceiling, overhead int) *pmtuState {
	var p pmtuState
	p.init(Config{PathBase: base, PathCeiling: ceiling, PathOverhead: overhead, PacketSize: 65453, MaxSACKBytes: 32})
	return &p
}

// runRound sends every probe the search plans for one round and resolves
// each as a path carrying up to path bytes would, with no other loss. It
// reports whether a round took place.
func runRound(p *pmtuState, now time.Time, path int, seq *uint16) bool {
	var sent []pmtuProbe
	for {
		size, ok := p.next(now)
		if !ok {
			break
		}
		p.sent(size, *seq)
		sent = append(sent, pmtuProbe{size: size, seq: *seq})
		*seq++
	}
	for _, q := range sent {
		p.resolve(now, q.seq, q.size <= path, false)
	}
	return len(sent) > 0
}

// TestPMTUSearchRounds is criterion 2's bound (RFC 8899 search, our
// candidate order): the confirmed size comes within 20 bytes of the
// path's in at most 6 probe rounds on paths up to 1,500 bytes and at
// most 12 up to 65,507, for IPv4 and IPv6 headers, with the local
// ceiling known or not, and the search ends (SEARCH_COMPLETE) with the
// size never above the path's.
func TestPMTUSearchRounds(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, overhead := range []int{28, 48} {
		base := 1280 - overhead
		var paths []int
		for _, mtu := range []int{1280, 1281, 1300, 1400, 1420, 1450, 1492, 1499, 1500, 2000, 4000, 8999, 9000, 9001, 16000, 30000, 65000, 65535} {
			paths = append(paths, min(mtu-overhead, maxUDPPayload))
		}
		for _, path := range paths {
			for _, ceiling := range []int{maxUDPPayload, 9000 - overhead} {
				if path > ceiling {
					continue
				}
				name := fmt.Sprintf("overhead%d/path%d/ceiling%d", overhead, path, ceiling)
				p := newSearch(base, ceiling, overhead)
				var seq uint16
				rounds, convergedAt := 0, -1
				for p.phase == pmtuSearching && rounds < 40 {
					if !runRound(p, now, path, &seq) {
						t.Fatalf("%s: searching, but no probe planned", name)
					}
					rounds++
					if convergedAt < 0 && path-p.size <= pmtuTolerance {
						convergedAt = rounds
					}
				}
				if path-p.size <= pmtuTolerance && convergedAt < 0 {
					convergedAt = 0 // the base already was
				}
				bound := 12
				if path+overhead <= 1500 {
					bound = 6
				}
				switch {
				case p.phase != pmtuComplete:
					t.Errorf("%s: phase %v after %d rounds", name, p.phase, rounds)
				case p.size > path:
					t.Errorf("%s: confirmed %d, more than the path carries", name, p.size)
				case convergedAt < 0 || convergedAt > bound:
					t.Errorf("%s: within 20 bytes after %d rounds (size %d), want at most %d", name, convergedAt, p.size, bound)
				}
			}
		}
	}
}

// TestPMTUAmbiguousLoss checks RFC 8899's MAX_PROBES: a probe lost in a
// round in which other packets were lost too (congestion) does not lower
// the bracket until the third such round, while one lost alone does.
func TestPMTUAmbiguousLoss(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newSearch(1232, 1452, 48)
	lose := func(other bool) {
		size, ok := p.next(now)
		if !ok {
			t.Fatal("no probe planned")
		}
		for ok {
			p.sent(size, 1)
			size, ok = p.next(now)
		}
		p.otherLoss = other
		for _, q := range p.round[:p.roundN] {
			p.resolve(now, q.seq, false, false)
		}
	}
	for i := 1; i < pmtuMaxProbes; i++ {
		lose(true)
		if p.hi != 1453 {
			t.Fatalf("ambiguous round %d lowered the bracket to %d", i, p.hi)
		}
	}
	lose(true)
	if p.hi == 1453 {
		t.Fatalf("after %d ambiguous rounds the bracket is still [%d, %d)", pmtuMaxProbes, p.size, p.hi)
	}
	q := newSearch(1232, 1452, 48)
	p = q
	lose(false)
	if p.hi == 1453 {
		t.Fatal("a probe lost alone did not lower the bracket")
	}
}

// TestPMTUTooBigAndBlackHole checks the two ways down: EMSGSIZE lowers
// the ceiling below the refused size, and a black hole falls back to the
// base and searches again below the size that stopped passing.
func TestPMTUTooBigAndBlackHole(t *testing.T) {
	p := newSearch(1232, 65507, 48)
	p.size = 8952
	if p.tooBig(9000) {
		t.Fatal("9000 refused reported the confirmed 8952 as too big")
	}
	if p.ceiling != 8999 || p.hi != 9000 {
		t.Fatalf("after EMSGSIZE at 9000: ceiling %d, hi %d", p.ceiling, p.hi)
	}
	if !p.tooBig(1500) {
		t.Fatal("1500 refused did not condemn the confirmed 8952")
	}
	p.blackHole()
	if p.size != 1232 || p.phase != pmtuSearching || p.hi > 1500 {
		t.Fatalf("after the black hole: size %d, phase %v, hi %d", p.size, p.phase, p.hi)
	}
}

// TestPMTURaiseTimer checks that a finished search probes upward again
// after PMTU_RAISE_TIMER (RFC 8899 5.1.1), and not before.
func TestPMTURaiseTimer(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newSearch(1252, 1472, 28)
	var seq uint16
	for p.phase == pmtuSearching {
		runRound(p, now, 1472, &seq)
	}
	if _, ok := p.next(now.Add(pmtuRaiseTimer - time.Second)); ok {
		t.Fatal("probe planned before the raise timer")
	}
	p.hi = 1300 // as if an old failure stood
	p.size = 1252
	if _, ok := p.next(now.Add(pmtuRaiseTimer)); !ok || p.hi != 1473 {
		t.Fatalf("raise timer: probe %v, hi %d", ok, p.hi)
	}
}

// TestPMTUDisabled checks that without PathBase nothing changes: no
// probes, PathMTU 0, packets of PacketSize (a promise about the peer
// here, so that the peer's limit does not apply).
func TestPMTUDisabled(t *testing.T) {
	c := newConn(time.Unix(1000, 0), Config{PacketSize: 5000, PacketSizeOverride: true})
	if c.PathMTU() != 0 || c.maxPayload() != 5000 {
		t.Fatalf("PathMTU %d, maxPayload %d", c.PathMTU(), c.maxPayload())
	}
	if _, ok := c.pmtu.next(time.Unix(1000, 0)); ok {
		t.Fatal("a probe is planned with discovery off")
	}
}

// countingCC counts the congestion signals a controller receives.
type countingCC struct {
	cc.Controller
	losses, timeouts *int
}

func (c countingCC) OnLoss(now time.Time, rtt time.Duration) {
	*c.losses++
	c.Controller.OnLoss(now, rtt)
}

func (c countingCC) SetMSS(mss int) { c.Controller.(mssSetter).SetMSS(mss) }

func (c countingCC) OnTimeout(now time.Time) {
	*c.timeouts++
	c.Controller.OnTimeout(now)
}

// pmtuSpec is a transfer over a lossless path whose links carry
// datagrams of up to mtu bytes, with discovery on (IPv6 base).
func pmtuSpec(seed uint64, mtu int, bytes uint64, losses, timeouts *int) pairSpec {
	return pairSpec{
		seed: seed,
		link: netsim.LinkConfig{Delay: 10 * time.Millisecond, MTU: mtu},
		cfg: Config{
			PacketSize: 65453, PathBase: 1232, PathOverhead: 48, MaxRecvDatagram: 65535,
			NewController: func(now time.Time, mss int) cc.Controller {
				return countingCC{cc.NewLEDBAT(now, cc.LEDBATConfig{MSS: mss}), losses, timeouts}
			},
		},
		aToB: bytes, bToA: 64 << 10,
		limit: 5 * time.Minute,
	}
}

// TestPMTUSimDiscovers runs transfers over simulated paths of several
// MTUs: every byte arrives, both ends find the path's size within 20
// bytes, and the probes lost on the way (the path drops them silently,
// as a black hole does) never reached the congestion controller: on a
// path with no other loss it saw no loss and no timeout at all.
func TestPMTUSimDiscovers(t *testing.T) {
	for _, mtu := range []int{1232, 1300, 1372, 1452, 4000, 8952, 65487} {
		t.Run(fmt.Sprint(mtu), func(t *testing.T) {
			var losses, timeouts int
			spec := pmtuSpec(uint64(mtu), mtu, 8<<20, &losses, &timeouts)
			p := newPair(t, spec)
			p.run(spec.limit)
			if err := p.verify(spec); err != nil {
				t.Fatalf("seed %d: %v", spec.seed, err)
			}
			// The dialer sends the bulk; the acceptor's 64 KiB may end
			// before its search does.
			st := p.a.conn.Stats()
			if st.PathMTU > mtu || st.PathMTU < mtu-pmtuTolerance {
				t.Errorf("PathMTU %d on a %d-byte path (probes %d, lost %d)", st.PathMTU, mtu, st.PathProbes, st.PathProbesLost)
			}
			if losses != 0 || timeouts != 0 {
				t.Errorf("the controller saw %d losses and %d timeouts on a path that lost only probes", losses, timeouts)
			}
		})
	}
}

// TestPMTUSimRouteShrinks narrows the path mid-transfer from 8,952 to
// 1,300 bytes, dropping larger datagrams silently (no ICMP, a black
// hole): the sender detects it within a few RTOs, re-sends its
// outstanding data in packets that fit, finds the new size, and the
// transfer completes byte-exact.
func TestPMTUSimRouteShrinks(t *testing.T) {
	var losses, timeouts int
	spec := pmtuSpec(7, 8952, 32<<20, &losses, &timeouts)
	// 32 MiB take about 6 s; a queue that never overflows leaves no
	// hole below the packets the narrowing strands (see repacketize).
	spec.link.Rate, spec.link.QueueBytes = 50e6, -1
	spec.onSetup = func(p *pair) {
		p.sim.After(2*time.Second, func() {
			p.ab.SetMTU(1300)
			p.ba.SetMTU(1300)
		})
	}
	p := newPair(t, spec)
	p.run(spec.limit)
	if err := p.verify(spec); err != nil {
		t.Fatalf("seed %d: %v\n%+v", spec.seed, err, p.a.conn.Stats())
	}
	st := p.a.conn.Stats()
	if st.PathBlackHoles == 0 || st.Repacketized == 0 {
		t.Errorf("no black hole handled: %+v", st)
	}
	if st.PathMTU > 1300 || st.PathMTU < 1300-pmtuTolerance {
		t.Errorf("PathMTU %d after the route shrank to 1300", st.PathMTU)
	}
	t.Logf("finished at %v; black holes %d, repacketized %d, timeouts %d", p.sim.Elapsed(), st.PathBlackHoles, st.Repacketized, st.Timeouts)
}

// TestPMTUSimBelowBase runs transfers over simulated IPv4 paths narrower
// than the base (a 1,280-byte IP packet): 576 bytes, the least every IPv4
// host takes whole (RFC 791), 1,000 and 1,200 (as some tunnels). The
// base's packets vanish as into a black hole; the sender must fall to
// the floor after its timeouts, re-send what it had sent in packets that
// fit, find the path's size, and every byte must arrive. Before the
// floor existed, such a path carried nothing and the connection timed
// out (e2e/pathmtu's TestPathBelowBase shows it on a kernel path).
func TestPMTUSimBelowBase(t *testing.T) {
	for _, mtu := range []int{576, 1000, 1200} {
		t.Run(fmt.Sprint(mtu), func(t *testing.T) {
			var losses, timeouts int
			path := mtu - 28 // IPv4 and UDP headers
			spec := pmtuSpec(uint64(mtu), path, 4<<20, &losses, &timeouts)
			spec.cfg.PathBase, spec.cfg.PathFloor, spec.cfg.PathOverhead = 1280-28, 576-28, 28
			p := newPair(t, spec)
			p.run(spec.limit)
			if err := p.verify(spec); err != nil {
				t.Fatalf("seed %d: %v\n%+v", spec.seed, err, p.a.conn.Stats())
			}
			st := p.a.conn.Stats()
			if st.PathMTU > path || st.PathMTU < path-pmtuTolerance {
				t.Errorf("PathMTU %d on a %d-byte path (probes %d, lost %d)", st.PathMTU, path, st.PathProbes, st.PathProbesLost)
			}
			if st.PathBlackHoles == 0 {
				t.Errorf("no fall below the base counted: %+v", st)
			}
			t.Logf("finished at %v; PathMTU %d, black holes %d, repacketized %d, timeouts %d", p.sim.Elapsed(), st.PathMTU, st.PathBlackHoles, st.Repacketized, st.Timeouts)
		})
	}
}
