// Package interop tests our uTP Socket against other implementations:
// BitTorrent's libutp (through github.com/anacrolix/go-libutp),
// github.com/anacrolix/utp and the v0 library github.com/inet256/go-utp,
// in both roles, on clean and impaired loopback paths
// (github.com/inet256/go-utp/v2/e2e/relay), against packets crafted by
// hand as libutp and libtorrent send them, and against a real BitTorrent
// client, libtorrent-rasterbar, moving a torrent to and from a minimal
// BitTorrent peer on our Socket. It has only tests, and is a module of its
// own so that these peers stay out of the library's go.mod;
// docs/interop.md describes the tests and what they found.
package interop
