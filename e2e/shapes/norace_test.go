//go:build linux && !race

package shapes

// raceEnabled: see race_test.go.
const raceEnabled = false
