//go:build linux && race

package realpath

// raceEnabled: the race detector slows our stack several times over and
// not the kernel's TCP, so a ratio between them says nothing.
const raceEnabled = true
