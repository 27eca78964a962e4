package main

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/inet256/go-utp/v2/e2e/relay"
)

// utpPayload returns the payload of a uTP DATA packet (BEP 29: a 20-byte
// header, then the extension chain), or nil for anything else.
func utpPayload(b []byte) (payload []byte, seq uint16) {
	const stData = 0
	if len(b) < 20 || b[0] != stData<<4|1 {
		return nil, 0
	}
	off, ext := 20, b[1]
	for ext != 0 {
		if off+2 > len(b) {
			return nil, 0
		}
		ext = b[off]
		off += 2 + int(b[off+1])
	}
	if off > len(b) {
		return nil, 0
	}
	return b[off:], binary.BigEndian.Uint16(b[16:])
}

// corruptOne flips a bit in the last payload byte of the skip+1-th DATA
// packet that carries at least 1000 bytes, and of every retransmission of
// it, so that the receiver cannot get that packet intact. Only a first
// transmission is chosen: a copy (a tail loss probe's, which a loaded
// machine sends early) of a packet already delivered intact, once chosen,
// corrupted only a duplicate the receiver drops (a race-detector run
// under load verified the file).
func corruptOne(skip int) func(b []byte) bool {
	var mu sync.Mutex
	seen, chosen, target := map[uint16]bool{}, false, uint16(0)
	return func(b []byte) bool {
		payload, seq := utpPayload(b)
		if len(payload) < 1000 {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if !chosen {
			if seen[seq] {
				return false // a copy
			}
			if seen[seq] = true; len(seen) <= skip {
				return false
			}
			chosen, target = true, seq
		}
		if seq != target {
			return false
		}
		payload[len(payload)-1] ^= 0x20
		return true
	}
}

// A byte corrupted in transit (uTP has no checksum of its own; UDP's is
// recomputed by the relay's kernel) is caught by the SHA-256 check: the
// receiver exits 9 and removes what it wrote, and the sender exits 9.
func TestCorruptedInTransit(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	os.WriteFile(src, randomBytes(1<<20), 0o644)
	sender, receiver := freePort(t), freePort(t)
	rl, err := relay.New(netip.MustParseAddrPort(sender), netip.MustParseAddrPort(receiver),
		relay.Config{AToB: relay.Link{Mangle: corruptOne(2)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rl.Close() })
	recv := start(t, utpCmd(t, nil, "recv", "--out", out, "udp://"+receiver))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, nil, "send", "--bind", sender, src, "udp://"+rl.Addr().String())
	got := wait(t, recv)
	toReceiver, _ := rl.Stats()
	if toReceiver.Mangled == 0 {
		t.Fatalf("the relay corrupted nothing: %+v", toReceiver)
	}
	checkBad(t, got, exitCorrupt, "waiting for a file on", "payload.bin failed its SHA-256 check")
	checkBad(t, sent, exitCorrupt, "", "the receiver reports that payload.bin arrived corrupted")
	if _, err := os.Stat(filepath.Join(out, "payload.bin")); !os.IsNotExist(err) {
		t.Fatalf("the corrupt file was not removed: %v", err)
	}
}
