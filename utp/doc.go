// Package utp provides uTP (the Micro Transport Protocol, BEP 29) streams
// over any net.PacketConn: reliable, ordered, congestion-controlled byte
// streams that yield to other traffic (LEDBAT++, draft-irtf-iccrg-ledbat-
// plus-plus; RFC 6817 LEDBAT through WithCongestionControl).
//
// # Usage
//
// A Socket owns one PacketConn and multiplexes connections over it. It is a
// net.Listener; Conn is a net.Conn.
//
//	s, err := utp.Listen("udp", ":0") // or utp.NewSocket(anyPacketConn)
//	if err != nil { ... }
//	defer s.Close()
//
//	// As a server:
//	for {
//		c, err := s.Accept()
//		if err != nil { return err }
//		go handle(c)
//	}
//
//	// As a client:
//	c, err := s.DialContext(ctx, raddr)
//	if err != nil { return err }
//	defer c.Close()
//	_, err = c.Write([]byte("hello"))
//
// Accept returns a connection only once its dialer has proven its address
// (a packet acknowledging our reply to its SYN, as TCP's accept waits for
// the three-way handshake): a SYN with a forged source never reaches the
// application. Our dialer proves it at once; a dialer that waits for the
// server to speak (github.com/anacrolix/utp's) proves it by acknowledging
// the proof request sent 250 ms after its SYN, and is accepted then
// (WithEarlyAccept accepts at the SYN). Answered SYNs awaiting their
// proof are bounded (WithUnprovenLimit), so a SYN flood costs a Socket a
// few MiB however fast it comes, and an unproven address receives at
// most 3 times what it sent.
//
// Datagrams on the same port that are not uTP (a DHT's, say) are returned
// by Socket.ReadFrom, and Socket.WriteTo sends raw datagrams.
//
// Ends are signalled. Conn.Done closes when a connection has left its
// Socket (after TIME-WAIT, a reset, a timeout, Close's linger or the
// Socket's Close), and Conn.Err says why. Socket.Shutdown stops accepting
// and waits for the connections to finish, then closes the Socket, as
// http.Server.Shutdown does:
//
//	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
//	defer cancel()
//	if err := s.Shutdown(ctx); err != nil {
//		s.Close() // connections still open when ctx ended are reset
//	}
//
// A Socket whose PacketConn fails for good (a read error that is neither
// temporary nor an errno from the kernel) closes itself: Accept, Dial,
// Read and Write then return errors that match both net.ErrClosed and the
// PacketConn's error, and so do Socket.Err, once Socket.Done is closed.
//
// Logs and counters go to the logger and collector of the context given
// with WithBackground (github.com/brendoncarroll/stdctx logctx and telctx);
// without one, nothing is logged. Connections opening and closing are
// logged at Debug, failures of the Socket at Warn. Drops and refusals are
// counted as they happen, a connection's packets and bytes when it ends.
//
// Errors follow the net package: net.ErrClosed after Close (ErrShutdown,
// which matches it, from Accept and Dial during Shutdown),
// os.ErrDeadlineExceeded inside a *net.OpError when a deadline passes,
// io.EOF after the peer's FIN, ErrWriteClosed from a Write after
// CloseWrite. ErrConnRefused, ErrConnReset, ErrTimedOut and ErrWriteClosed
// also match syscall.ECONNREFUSED, ECONNRESET, ETIMEDOUT and EPIPE with
// errors.Is.
// A closed connection whose linger ran out before the peer had everything
// ends with ErrLingerExpired (Conn.Err), which matches net.ErrClosed.
//
// # Limitations
//
//   - A dial to an absent peer fails after 39 s if its context does not end
//     first: two SYNs on each of 13 connection ids, a fresh id every 3 s.
//     On Linux over UDP, a closed port fails the dial at once with
//     ErrConnRefused: the kernel's ICMP "port unreachable" is read from
//     the socket's error queue (IP_RECVERR). ICMP errors for established
//     connections are ignored.
//   - An established connection whose peer vanishes fails with ErrTimedOut
//     after 16 consecutive retransmission timeouts: within
//     16 × max(4 s, RTO), about 55 s on a short path. Where path MTU
//     discovery runs (below), the silence can first look like a path that
//     shrank: the connection then stops sending data to ask the peer what
//     it holds, and each unanswered question counts as one of the 16
//     timeouts. A connection with nothing to send notices only through
//     the idle timeout, 90 s without any packet (the peer sends
//     keepalives every 29 s).
//   - Small writes coalesce while data is unacknowledged (Nagle), unlike
//     net.TCPConn's default, until a Read waits: a message sent in two
//     Writes and then answered leaves whole when the writer reads, or
//     behind one packet in flight when another goroutine is already
//     reading, so it does not wait for the peer's delayed ACK. A message
//     in three or more Writes while another goroutine reads, or a writer
//     that waits on something other than this connection's Read, has its
//     tail sent once no Write has come for a push delay (a quarter of the
//     round trip, 50 µs to 1 ms). A writer whose small Writes come
//     further apart than that sends each alone, as with WithNoDelay.
//   - Conn.Close returns at once; what was written is delivered in the
//     background for at most 30 s (WithLinger), then the connection is
//     reset. CloseWrite and a read to io.EOF confirm delivery.
//   - No datagram exceeds what the peer reads whole: 1,500 bytes unless
//     the peer advertised more in the handshake, as Sockets of this
//     package do (docs/protocol.md, "Datagram size"). Other
//     implementations truncate longer datagrams silently, so
//     WithPacketSize, which overrides this, is a promise about the peer.
//   - Within that, packets over UDP on Linux are sized by path MTU
//     discovery (RFC 8899, docs/protocol.md): they start at a 1,280-byte
//     IP packet and grow as padded probes confirm larger ones, up to the
//     largest the path carries; over IPv4 they fall as low as a 576-byte
//     packet, after two timeouts, on a path narrower than 1,280. Elsewhere, and over other PacketConns,
//     they are at most 1400 bytes of payload except on UDP loopback
//     (65,000) and where WithMaxDatagram says the PacketConn carries more.
//     A path that shrinks under a connection is detected after two
//     timeouts; packets already sent at the old size are sent again
//     smaller if the peer holds none of them, else at their size with
//     fragmentation allowed. Over IPv6 that works only when the peer
//     reads datagrams larger than the route's MTU (Linux fragments
//     nothing smaller): peers of this package, and any peer on a
//     1,500-byte route; elsewhere such a connection times out.
//   - The kernel's UDP buffers bound what a fast path can burst: NewSocket
//     asks for 8 MiB each way (WithUDPBuffer), and raises the receive
//     buffer up to 64 MiB when a connection on a long fat path needs a
//     window beyond its share of it, but Linux grants at most
//     net.core.rmem_max and wmem_max (208 KiB by default) to a process
//     without CAP_NET_ADMIN, and other systems have their own caps. What
//     overflows is dropped by the kernel and retransmitted, at a cost in
//     throughput; raise those sysctls for multi-gigabit transfers. A
//     Socket shares its buffer among the connections receiving on it
//     through their windows (a connection not yet seen receiving is
//     offered at most 128 KiB), but a sender's tail loss probes and
//     retransmissions go beyond its window, and on a loaded machine
//     they can still overflow the buffer now and then. Once eight or
//     more connections receive on a Socket, more than its buffer holds
//     at 1 MiB each, it raises the receive buffer to four times its size
//     (unless WithUDPBuffer set it), as room for those copies; the
//     kernel charges only what is queued.
//   - uTP has no encryption or authentication; run it over a secure
//     network (INET256) or add your own. Against off-path attackers that
//     forge packets, 16-bit connection ids and sequence numbers are all
//     there is: docs/security.md gives the odds per forged packet.
//   - Socket.Close returns within one second even if the PacketConn's
//     ReadFrom or WriteTo ignores Close and deadlines, but the reader
//     goroutine, or the sender goroutine that PacketConns other than UDP
//     and netsim get, then lives until that call returns.
//   - Under a SYN flood faster than the unproven limit per round trip, a
//     genuine dialer's handshake may be shed before its proof arrives; it
//     is rebuilt from a small record when the proof comes within a few
//     seconds, else the dialer's first packets are answered with RESET.
//   - A dial to a peer to which thousands of our connections are in
//     TIME-WAIT takes over the oldest one's id: the peer's side of it, if
//     still waiting, is ended by the new SYN.
//   - Short connections cost a system call for each of their datagrams
//     (about eight) on both sides, where TCP's handshake and teardown
//     stay in the kernel: 16 goroutines dialing, echoing 4 KiB and
//     closing through one pair of Sockets used 6–13% more CPU a
//     connection than TCP in the package benchmark, once connections in
//     TIME-WAIT were kept as small records; before that, on a quiet
//     two-core machine, they reached about 0.3 times TCP's connection
//     rate (docs/performance.md, "Churn").
//   - A Socket per dial costs more than TCP's fresh port: opening and
//     closing a Socket makes about a dozen system calls besides its
//     datagrams (the UDP socket's own, three socket options, a
//     namespace lookup for the route's MTU) and arms a timer for its
//     reader goroutine, which starts only if the Socket lives past a
//     standby tick or a call needs it; its Close resets the connection
//     still waiting for the ACK of its FIN (docs/performance.md, "Usage
//     shapes").
package utp
