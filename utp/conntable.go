package utp

// Go maps never give back the memory of deleted entries: a burst of
// churn, or a SYN flood, leaves the connection table (and the TIME-WAIT
// table, timewait.go) sized for its peak (tens of thousands of
// connections in TIME-WAIT take about 5 MiB of buckets) long after the
// connections are gone. So when a table has shrunk to an eighth of the
// largest size seen since it was last built, it is copied into a map
// sized for what it holds. A rebuild copies at most peak/8 entries after
// at least 7·peak/8 deletions: constant work per deletion.

// shrinkConnsMin is the peak below which the table is never rebuilt: a
// small map's buckets (a few KiB) are not worth the copy.
const shrinkConnsMin = 128

// deleteConn removes key from the connection table, rebuilding the table
// when it has shrunk enough. s.mu is held.
func (s *Socket) deleteConn(key connKey) {
	s.conns, s.connsPeak = deleteShrinking(s.conns, s.connsPeak, key)
}

// deleteShrinking removes key from m, a table whose peak size since it
// was built is peak, and returns the table, rebuilt if it has shrunk
// enough, and its peak.
func deleteShrinking[V any](m map[connKey]V, peak int, key connKey) (map[connKey]V, int) {
	peak = max(peak, len(m))
	delete(m, key)
	n := len(m)
	if peak < shrinkConnsMin || n > peak/8 {
		return m, peak
	}
	small := make(map[connKey]V, n)
	for k, v := range m {
		small[k] = v
	}
	return small, n
}
