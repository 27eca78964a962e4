// Package realpath measures transports at real kernel bottlenecks: three
// network namespaces (sender, router, receiver) joined by veth pairs, a
// tbf token bucket with a drop-tail buffer on the router's egress toward
// the receiver, and a base round-trip time added by a delay line in user
// space on a TUN device in the router (the return direction is steered
// through it with a policy-routing rule, so it delays ACKs, not data, and
// never becomes the bottleneck). UDP pings with their send time in the
// payload cross the same queue and measure its delay. The delay line
// runs in a child process, the binary re-executed, when the binary calls
// DelayLineMain first (the tests' TestMain does): in the process under
// test it would share the Go scheduler with a user-space transport and
// delay that transport's ACKs more than a kernel TCP's. Receive packet
// steering on every veth end keeps each flow on one CPU's backlog, as a
// network card would (steer.go), and taps (Config.Taps) count, at every
// hop, the uTP packets that pass after one sent later (tap.go).
//
// Sockets are created on a goroutine locked to an OS thread that has
// entered a namespace (runtime.LockOSThread and setns); a socket stays in
// the namespace it was made in, so it can then be used from any goroutine.
// The thread is never handed back to the runtime. This is the same way
// for UDP and TCP sockets and for cgo peers (libutp), and needs no helper
// binary beyond the running one.
//
// The tests (go test ./e2e/realpath) need root and the ip and tc commands
// (iproute2, CI installs it); each test builds and deletes its own
// namespaces under names unique to the process. The package's exported
// API lets bench (its own module) print the same scenarios as a table
// with libutp beside us and TCP. docs/performance.md ("Real paths") has
// the figures.
package realpath
