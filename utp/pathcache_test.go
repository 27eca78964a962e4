package utp

import (
	"net/netip"
	"testing"
	"time"
)

// TestPathCache checks the per-destination cache: an entry is returned
// until it expires, learned sizes restart its clock, and a full cache
// makes room instead of growing.
func TestPathCache(t *testing.T) {
	var pc pathCache
	now := time.Unix(1000, 0)
	a := netip.MustParseAddr("192.0.2.1")
	pc.put(a, pathEntry{ceiling: 8972, expires: now.Add(pathCacheTTL)})
	if e, ok := pc.get(a, now); !ok || e.ceiling != 8972 || e.mtu != 0 {
		t.Fatalf("get: %+v %v", e, ok)
	}
	later := now.Add(pathCacheTTL - time.Second)
	pc.learned(a, 1472, later)
	if e, ok := pc.get(a, now.Add(pathCacheTTL+time.Second)); !ok || e.mtu != 1472 || e.ceiling != 8972 {
		t.Fatalf("after learning 1472: %+v %v (the clock should have restarted)", e, ok)
	}
	if _, ok := pc.get(a, later.Add(pathCacheTTL+time.Second)); ok {
		t.Fatal("entry outlived its expiry")
	}
	pc.learned(netip.MustParseAddr("192.0.2.2"), 1400, now) // unknown: ignored
	if _, ok := pc.get(netip.MustParseAddr("192.0.2.2"), now); ok {
		t.Fatal("learned created an entry with no ceiling")
	}
	for i := range pathCacheMax + 10 {
		b := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		pc.put(b, pathEntry{ceiling: 1472, expires: now.Add(pathCacheTTL)})
	}
	if n := len(pc.m); n > pathCacheMax {
		t.Fatalf("%d entries, more than %d", n, pathCacheMax)
	}
}
