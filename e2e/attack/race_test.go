//go:build race

package attack

// raceEnabled: the race detector slows the Socket several times over, so
// the kernel drops much of the flood and legitimate handshakes miss their
// time; the flood test then reports what it cannot judge.
const raceEnabled = true
