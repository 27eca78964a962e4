// Package pathmtu tests path MTU discovery on real kernel paths: network
// namespaces that each test creates and deletes (client, router, server,
// joined by veth pairs), whose narrowest hop has the MTU under test, with
// and without the router's ICMP "packet too big" / "fragmentation needed"
// dropped by nftables (a path-MTU black hole). It needs root (CI runs as
// root) and skips otherwise. docs/protocol.md describes the discovery.
package pathmtu
