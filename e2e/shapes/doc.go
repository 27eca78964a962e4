// Package shapes runs usage shapes nobody benchmarks through the real
// kernel bottlenecks of package realpath (three network namespaces, a tbf
// bottleneck, a user-space delay line): a BitTorrent-like swarm of
// connections both ways on one Socket, a reader that pauses mid-transfer,
// and thousands of short connections beside a bulk transfer. They check
// that every byte arrives and nothing stalls or grows without bound; the
// figures they log are in docs/performance.md ("Usage shapes on real
// paths"). They live apart from realpath so that its package, which
// carries the LEDBAT++ and recovery scenarios, stays under three minutes.
//
// The tests need root and the ip and tc commands, as realpath's do.
package shapes
