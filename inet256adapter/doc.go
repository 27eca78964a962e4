// Package inet256adapter runs uTP streams between INET256 nodes: reliable,
// ordered, congestion-controlled byte streams between 256-bit addresses
// derived from public keys (https://github.com/inet256/inet256).
//
// # Usage
//
// Open a node on an INET256 service (the daemon's API through
// inet256client, or inet256mem in tests) and put a uTP Socket on it:
//
//	srv, err := inet256client.NewEnvClient() // $INET256_API, default unix:///run/inet256.sock
//	node, err := srv.Open(ctx, privateKey)
//	s := inet256adapter.NewSocket(node) // owns node from now on
//	defer s.Close()
//
//	// As a server: s is a net.Listener.
//	c, err := s.Accept()
//
//	// As a client: addresses are inet256.Addr values.
//	addr, err := inet256adapter.ParseAddr("...43 base64 characters...")
//	c, err := s.DialContext(ctx, addr)
//
// Dial opens a node's one connection in one call, and NewPacketConn gives
// the net.PacketConn underneath for other protocols.
//
// # How uTP maps onto INET256
//
//   - An address is an inet256.Addr; its String form is base64 and is
//     what ParseAddr reads. One node carries any number of connections,
//     told apart by uTP's connection ids.
//   - One uTP packet is one INET256 message. Cost through a daemon is per
//     message, so packets are large: DefaultPacketSize (60 KiB) between
//     two Sockets of this package, which advertise in the handshake that
//     they read that much. Toward a peer that does not (the v0 library,
//     which reads 8 KiB), messages keep to 1,500 bytes. Messages over the
//     65,449 bytes a daemon delivers (MaxMessage, WithMaxMessage) fail
//     with *MTUError.
//   - The daemon queues about 8 messages per node and drops the rest, so a
//     connection keeps at most DefaultWindow (8) packets unacknowledged
//     (WithWindow); past that, bursts overflow the queue and the losses
//     cost far more than the window bound does.
//   - Before the first message to a peer its public key is looked up (a
//     daemon-backed node that sends to an address it cannot route may stop
//     working). A peer that is not found fails the write, or Dial, with
//     *UnreachableError.
//   - A node that fails (its daemon died, or it was closed underneath)
//     fails the PacketConn with ErrNodeFailed, and a Socket from NewSocket,
//     Listen or Dial closes at once: Accept, Read and Write return an
//     error matching both net.ErrClosed and ErrNodeFailed, and the
//     Socket's Done and Err report it.
//
// # Limitations
//
//   - Close waits until 200 ms have passed since the last message sent,
//     so that the daemon forwards it (a Socket's RESETs, sent as it
//     closes, were lost half the time without), then at most two seconds
//     for the receiving goroutine. A node
//     whose Receive ignores both Close and context cancellation keeps that
//     goroutine until Receive returns.
//   - The first write to a new peer waits for its lookup at most 250 ms;
//     the lookup itself is bounded by WithLookupTimeout (5 s). A peer not
//     found is looked up again after two seconds.
//   - A found key does not mean a route: the reference daemon may hold a
//     node's first message to a new peer for up to 3 s, and may drop the
//     node meanwhile (docs/inet256.md); the node then fails.
//   - A node's death is noticed on the next failed send or within one
//     probe interval (WithProbeInterval, 1 s).
//   - A peer that goes away (its node closed, its daemon dead) takes the
//     node down with it when the node keeps writing to it: the reference
//     daemon drops a node that sends to an address it can no longer
//     route (docs/inet256.md), measured 20 to 43 s after the peer left.
//     The node then fails with a *PeerSilentError naming the peer (it
//     matches ErrNodeFailed and ErrPeerSilent), which every connection on
//     it returns; a program that keeps serving opens a new node. Had uTP
//     given up first: ErrTimedOut after 16 retransmission timeouts (about
//     55 s) while data is outstanding, or the 90 s idle timeout.
//   - Each received message is copied once into a pooled 64 KiB buffer.
package inet256adapter
