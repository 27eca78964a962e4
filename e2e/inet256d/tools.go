//go:build tools

// Package inet256d pins the reference INET256 daemon for the end-to-end
// tests in ../inet256, which build it with
//
//	GOTOOLCHAIN=go1.20.14 go build -o BIN github.com/inet256/inet256/cmd/inet256
//
// from this directory. The import below keeps the daemon's dependencies in
// this module's go.mod and go.sum; the build tag keeps it out of every
// build.
package inet256d

import _ "github.com/inet256/inet256/cmd/inet256"
