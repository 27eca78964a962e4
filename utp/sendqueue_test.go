package utp

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// On UDP, datagrams a step queues while another goroutine holds the
// sender's role are all sent, however many steps queue (past
// maxQueuedBatches they join the last batch): dropping them, as a blocked
// sender's queue does, lost our own packets at 1 Gbit/s, where each
// ACK's step queues a batch while the sending goroutine is descheduled,
// and every drop cost a window halving.
func TestUDPQueuedBatchesAreNotDropped(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	ca, cb := dialAccept(t, a, b)
	defer ca.Close()
	defer cb.Close()
	before := a.Stats()

	const n = 4 * maxQueuedBatches
	// Wait for the handshake's own sends to finish.
	deadline := time.Now().Add(5 * time.Second)
	ca.mu.Lock()
	for ca.flushing {
		ca.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the connection's sends did not finish within 5 s")
		}
		time.Sleep(time.Millisecond)
		ca.mu.Lock()
	}
	// Another goroutine holds the sender's role, as when the reader's
	// step sends while the writer's step queues.
	ca.flushing = true
	ca.s.flushers.begin()
	for range n {
		out := ca.s.getBatch()
		out.add(packetio.Datagram{Head: append(ca.s.getSmall()[:0], 0)}) // not uTP: the peer ignores it
		if direct := ca.queue(out); direct != nil {
			t.Error("queue handed the batch to its caller while another goroutine sends")
		}
	}
	queued := len(ca.sendQ)
	ca.mu.Unlock()
	ca.flush()

	after := a.Stats()
	if queued > maxQueuedBatches || after.SendErrors != before.SendErrors || after.PacketsOut-before.PacketsOut < n {
		t.Fatalf("%d batches queued: %d kept, %d send errors, %d datagrams sent; want at most %d batches and all %d datagrams sent",
			n, queued, after.SendErrors-before.SendErrors, after.PacketsOut-before.PacketsOut, maxQueuedBatches, n)
	}
}
