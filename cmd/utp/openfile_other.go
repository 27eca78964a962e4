//go:build !unix

package main

import (
	"fmt"
	"os"
)

// createNoFollow opens path for reading and writing, creating it if
// needed. Without O_NOFOLLOW it refuses a symbolic link it finds first;
// a link planted between that check and the open is not caught here, and
// the caller's check that the opened file is regular is the last guard.
func createNoFollow(path string) (*os.File, error) {
	if info, err := os.Lstat(path); err == nil && info.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link", path)
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}
