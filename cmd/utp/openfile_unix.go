//go:build unix

package main

import (
	"os"
	"syscall"
)

// createNoFollow opens path for reading and writing, creating it if
// needed, and refuses to follow a symbolic link in its last element: a
// link planted under a temporary name must not redirect a write.
func createNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
}
