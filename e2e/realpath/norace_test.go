//go:build linux && !race

package realpath

// raceEnabled: see race_test.go.
const raceEnabled = false
