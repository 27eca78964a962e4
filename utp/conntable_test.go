package utp

import (
	"net/netip"
	"testing"
)

// After a burst, the connection table is rebuilt once it holds an eighth
// of its peak, keeping every remaining entry; a table that stays small
// is never rebuilt.
func TestConnTableShrinks(t *testing.T) {
	s := &Socket{conns: make(map[connKey]*Conn)}
	ap := netip.MustParseAddrPort("192.0.2.1:6881")
	const n = 4 * shrinkConnsMin
	for i := range n {
		s.conns[connKey{ap: ap, id: uint16(i)}] = new(Conn)
	}
	first := s.conns
	for i := range n - n/8 {
		s.deleteConn(connKey{ap: ap, id: uint16(i)})
		if len(s.conns) > n/8 && !sameMap(s.conns, first) {
			t.Fatalf("rebuilt at %d entries, above an eighth of %d", len(s.conns), n)
		}
	}
	if sameMap(s.conns, first) {
		t.Fatalf("not rebuilt at %d entries, an eighth of its peak %d", len(s.conns), n)
	}
	if len(s.conns) != n/8 || s.connsPeak != n/8 {
		t.Fatalf("after the rebuild: %d entries, peak %d; want %d and %d", len(s.conns), s.connsPeak, n/8, n/8)
	}
	for i := n - n/8; i < n; i++ {
		if s.conns[connKey{ap: ap, id: uint16(i)}] == nil {
			t.Fatalf("entry %d lost in the rebuild", i)
		}
	}

	small := &Socket{conns: make(map[connKey]*Conn)}
	for i := range shrinkConnsMin - 1 {
		small.conns[connKey{ap: ap, id: uint16(i)}] = new(Conn)
	}
	kept := small.conns
	for i := range shrinkConnsMin - 1 {
		small.deleteConn(connKey{ap: ap, id: uint16(i)})
	}
	if !sameMap(small.conns, kept) {
		t.Fatal("a table that never reached shrinkConnsMin was rebuilt")
	}
}

// sameMap reports whether a and b are the same map, not merely equal:
// an entry added to one shows in the other.
func sameMap(a, b map[connKey]*Conn) bool {
	probe := connKey{addr: "probe"}
	a[probe] = nil
	_, ok := b[probe]
	delete(a, probe)
	return ok
}
