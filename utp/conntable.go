package utp

// Go maps never give back the memory of deleted entries: a burst of
// churn, or a SYN flood, leaves the connection table sized for its peak
// (tens of thousands of connections in TIME-WAIT take about 5 MiB of
// buckets) long after the connections are gone. So when the table has
// shrunk to an eighth of the largest size seen since it was last built,
// it is copied into a map sized for what it holds. A rebuild copies at
// most peak/8 entries after at least 7·peak/8 deletions: constant work
// per deletion.

// shrinkConnsMin is the peak below which the table is never rebuilt: a
// small map's buckets (a few KiB) are not worth the copy.
const shrinkConnsMin = 128

// deleteConn removes key from the connection table, rebuilding the table
// when it has shrunk enough. s.mu is held.
func (s *Socket) deleteConn(key connKey) {
	s.connsPeak = max(s.connsPeak, len(s.conns))
	delete(s.conns, key)
	n := len(s.conns)
	if s.connsPeak < shrinkConnsMin || n > s.connsPeak/8 {
		return
	}
	m := make(map[connKey]*Conn, n)
	for k, c := range s.conns {
		m[k] = c
	}
	s.conns, s.connsPeak = m, n
}
