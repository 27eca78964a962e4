//go:build !linux

package main

import "os"

// termWidth is 80 columns where the terminal is not asked.
func termWidth(*os.File) int { return 80 }
