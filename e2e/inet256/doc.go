// Package inet256e2e tests uTP between INET256 nodes served by the
// reference daemon (github.com/inet256/inet256, cmd/inet256), run as real
// processes on loopback: two daemons peered with each other, and two nodes
// on one daemon.
//
// The daemon is built by the tests themselves from the nested module in
// ../inet256d with the Go 1.20 toolchain, which its dependencies need, and
// cached under the user cache directory, so only the first run pays for
// the build (about a minute). See docs/inet256.md.
package inet256e2e
