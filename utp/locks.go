package utp

// Locks, shared state and goroutines of package utp, in one place.
//
// Every function that takes a lock releases it before it returns; where a
// step must do more once c.mu is released (send, forget, promote), settle
// returns what is left and the caller runs afterStep after its Unlock.
//
// Locks, and what each guards:
//
//   - Conn.mu (c.mu): the state machine (Conn.m) and everything a step reads or
//     writes beside it: the send queue (sendQ, sendSpare, flushing), the
//     timer (timer, timerAt, last, earlyFires), userClose, lent, readWaits, waitedReads,
//     lingerAt, lingerOut, err, the stats snapshot, pathMTU and the deadlines.
//     Taken by the user's calls (conn.go), the reader (stepAt, from route.go's inbox),
//     a Read holding the read lead, and the timers (onTimer).
//   - Socket.mu: the table (conns, connsPeak), the ended connections'
//     counters (endedSums), the TIME-WAIT records (waiting, waitingPeak)
//     and the queue of their ends and its timer (waits), closed, cause,
//     drain, the random source (rng), the handshake state (backlog,
//     unproven, shed) and Conn.accepted.
//   - asyncSender.mu: the sender goroutine's queue of connections and
//     stopped.
//   - flushers.mu: the channel Close waits on (idle); the count is atomic.
//   - pathCache.mu: what path MTU discovery learned per destination.
//   - windowShare.mu: the receive-buffer share's budget (avail), its list
//     of counted connections, each Conn's shareIdx and shareEnded, and
//     the setting of its limits (share.go, rcvbuf.go).
//   - packetio's own locks (its waker, the UDP don't-fragment switch) are
//     leaves inside that package. One more is held across package utp's
//     code: the reader goroutine's yield (lead.yieldWait) runs inside a
//     UDP read's RawConn callback, which holds the socket's read lock
//     (net's fdMutex), and steps connections there to release held ACKs.
//     Nothing that holds a Conn's lock reads the socket, and Close closes
//     it holding no lock, so the read lock comes first and waits on none.
//
// Order: a lock on the right may be taken while one on its left is held,
// never the reverse:
//
//	Conn.mu -> asyncSender.mu  (queue: the sender goroutine sends)
//	Conn.mu -> packetio waker  (events: a leading Read is woken)
//
// Socket.mu, flushers.mu, pathCache.mu and windowShare.mu are taken alone. No function
// holds two Conns' locks, and Socket.mu is never held while a Conn's lock
// is taken: code that steps connections it found under Socket.mu (Close,
// onICMPError, accept's shed victims) copies them and steps them after
// its Unlock, and a step's Socket bookkeeping (forget, promote) runs in
// afterStep, after c.mu is released (a connection retired in TIME-WAIT
// enters the TIME-WAIT table there: forgetRetired).
//
// State shared without a lock:
//
//   - atomics: Conn.confirmed and Conn.timeWaiting (in TIME-WAIT, not yet
//     retired; read by the Socket under Socket.mu), windowShare.limit,
//     next and count, Conn.shareCounted, the kernel buffer's raising
//     flags (bufferGrowth.open, and raising, whose holder alone reads and
//     sets bufferGrowth.rcvbuf and makes the system call, rcvbuf.go),
//     roomGrowth.want, flushers' count, the Socket's
//     counters (socketCounters), and the read lead's flags (lead.go, whose
//     comment gives their invariants).
//   - owned by whoever holds the read lead (the reader goroutine, a
//     leading Read or dial, or a Close reading what is queued before its
//     FIN, closedrain.go), one at a time: the read buffer and inbox (lead.buf,
//     lead.in), the RESET token bucket (Socket.resets), windowShare's
//     period, counters, packet sizes and roomGrowth.done, and each
//     Conn's shareEpoch,
//     sharePackets and shareRun, the list of connections whose ACKs are
//     held (inbox.holds, ackhold.go) and each Conn's ackHeld.
//   - channels that signal: Conn.readable, writable, connected, closed and
//     left; Socket.acceptSig, nonUTP (made at first use, through an
//     atomic pointer), done and readerDone.
//
// Goroutines the package starts:
//
//   - the reader, one per Socket (readLoop, started by lead.launch):
//     reads datagrams and routes them (route.go), or stands by while a
//     Read or a dial leads (lead.go). Where they may lead it starts at
//     the first call that needs it or a standby tick after NewSocket, in
//     that tick's timer goroutine; a Socket closed before either never
//     starts it. Close waits for it to exit (readerDone).
//   - the sender, one per Socket whose packet endpoint's sends may block
//     (packetio's Caps.BlockingSend; sendLoop in sender.go): sends the
//     connections' queued datagrams. Close stops it and waits (async.done).
//   - timer callbacks (time.AfterFunc): each Conn's timer runs onTimer, and
//     the Socket's TIME-WAIT timer runs endTimeWaits (timewait.go).
//
// The user's goroutines run the step engine too: Read, Write and Close
// step their connection and send what the step made, and a Read or a
// dial that holds the read lead reads and routes the Socket's datagrams
// itself, as a Close that finds the lead free does with what is queued.
