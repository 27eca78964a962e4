package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/e2e/relay"
	"github.com/inet256/go-utp/v2/internal/stallwatch"
)

// The two ends of one transfer report the same RTT: the path's round
// trip, which a relay fixes at 2×oneWay. Before, each printed its own
// smoothed RTT, and the sender's counted the queue its bulk data built
// (3.3 ms against the receiver's 0.4 ms on bare loopback).
//
// The relay runs in the test process: when the machine starves it, every
// sample carries the relay's lateness. A run whose RTTs miss the bound
// while a stall meter saw the process starved is run again, up to three
// times, each logged; a miss on a healthy run fails.
func TestBothEndsReportOneRTT(t *testing.T) {
	stallwatch.Measure(t, 3, func() []string { return oneRTTRun(t) })
}

// oneRTTRun is one transfer of TestBothEndsReportOneRTT; it returns the
// bounds the reported RTTs missed.
func oneRTTRun(t *testing.T) (misses []string) {
	const oneWay = 20 * time.Millisecond
	sendAddr, recvAddr := freePort(t), freePort(t)
	r, err := relay.New(netip.MustParseAddrPort(sendAddr), netip.MustParseAddrPort(recvAddr),
		relay.Config{AToB: relay.Link{Delay: oneWay}, BToA: relay.Link{Delay: oneWay}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir, out := t.TempDir(), t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	os.WriteFile(src, randomBytes(4<<20), 0o644)
	recv := start(t, utpCmd(t, nil, "recv", "--json", "-q", "--out", out, "udp://"+recvAddr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, nil, "send", "--json", "-q", "--bind", sendAddr, src, "udp://"+r.Addr().String())
	got := wait(t, recv)
	if sent.code != 0 || got.code != 0 {
		t.Fatalf("send %d (%s), recv %d (%s)", sent.code, sent.stderr, got.code, got.stderr)
	}
	var rtt, srtt [2]float64
	for i, res := range []result{sent, got} {
		var s summary
		if err := json.Unmarshal([]byte(res.stdout), &s); err != nil {
			t.Fatalf("summary is not JSON: %q", res.stdout)
		}
		rtt[i], srtt[i] = s.RTTMillis, s.SRTTMillis
	}
	path := float64(2*oneWay) / float64(time.Millisecond)
	// No sample can be below the relay's delay; above it, a loaded
	// machine adds scheduling delay, more to the receiver's few samples
	// than to the sender's many, hence the slack.
	const slack = 15
	t.Logf("path %.0f ms: sender reports %.2f ms (smoothed %.2f), receiver %.2f ms (smoothed %.2f)",
		path, rtt[0], srtt[0], rtt[1], srtt[1])
	for i, who := range []string{"sender", "receiver"} {
		if rtt[i] < path { // no lateness explains a sample below the relay's delay
			t.Errorf("%s reports RTT %.2f ms on a %.0f ms path", who, rtt[i], path)
		}
		if rtt[i] > path+slack {
			misses = append(misses, fmt.Sprintf("%s reports RTT %.2f ms on a %.0f ms path", who, rtt[i], path))
		}
	}
	if d := rtt[0] - rtt[1]; d > slack || d < -slack {
		misses = append(misses, fmt.Sprintf("the ends disagree: sender %.2f ms, receiver %.2f ms", rtt[0], rtt[1]))
	}
	return misses
}
