//go:build !race

package attack

// raceEnabled: see race_test.go.
const raceEnabled = false
