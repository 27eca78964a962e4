// Package interop tests our uTP Socket against other implementations:
// BitTorrent's libutp (through github.com/anacrolix/go-libutp) and
// github.com/anacrolix/utp, in both roles, on clean and impaired loopback
// paths (github.com/inet256/go-utp/v2/e2e/relay), and against packets
// crafted by hand as libutp and libtorrent send them. It has only tests;
// docs/interop.md describes them and what they found.
package interop
