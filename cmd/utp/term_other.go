//go:build !linux

package main

import "os"

// termWidth is 80 columns where the terminal is not asked.
func termWidth(*os.File) int { return 80 }

// isTerminal reports whether f is a character device, the nearest to a
// terminal this build asks.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
