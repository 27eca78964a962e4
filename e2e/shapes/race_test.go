//go:build linux && race

package shapes

// raceEnabled: the race detector slows our stack several times over and
// not the kernel's TCP, so rate and stall bounds say nothing under it.
const raceEnabled = true
