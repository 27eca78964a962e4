package utp

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// Accept returns a connection only once its dialer has proven its address
// with a packet that acknowledges our reply, as TCP's accept returns only
// after the three-way handshake: a SYN alone, with a forged source, never
// reaches the application.
func TestSimAcceptOnlyProven(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, _, b := simNet(t)
		raw := n.Listen("raw")
		defer raw.Close()
		accepted := acceptOne(b)
		syn := wire.Header{Type: wire.Syn, ConnID: 100, SeqNr: 1, WndSize: 1 << 20}
		raw.WriteTo(syn.Append(nil), b.Addr())
		buf := make([]byte, 2048)
		k, _, err := raw.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		reply, _, err := wire.Parse(buf[:k])
		if err != nil || reply.Type != wire.State || reply.AckNr != 1 {
			t.Fatalf("reply to the SYN: %+v, %v", reply, err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if len(accepted) != 0 {
			t.Fatal("Accept returned a connection whose dialer never answered our reply")
		}
		// The dialer's first DATA acknowledges the reply (ack_nr one
		// below its seq_nr, which the acceptor has not consumed).
		data := wire.Header{Type: wire.Data, ConnID: 101, SeqNr: 2, AckNr: reply.SeqNr - 1, WndSize: 1 << 20}
		raw.WriteTo(append(data.Append(nil), "proof"...), b.Addr())
		var c *Conn
		select {
		case c = <-accepted:
		case <-time.After(time.Second):
			t.Fatal("Accept did not return the proven connection")
		}
		got := make([]byte, 16)
		k, err = c.Read(got)
		if err != nil || string(got[:k]) != "proof" || c.RemoteAddr().String() != "raw" {
			t.Fatalf("accepted connection from %v read %q, %v", c.RemoteAddr(), got[:k], err)
		}
		c.Close()
	})
}

// Unproven connections are bounded: a SYN beyond the limit displaces the
// oldest, silently, once that one is older than unprovenMinAge, and is
// answered with no connection while all are younger; connections older
// than unprovenMaxAge go at the next SYN. Nothing but the reply, and what
// the state machine's 3x budget allows, reaches the forged sources.
func TestSimUnprovenBounded(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit = 8
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
		b := NewSocket(n.Listen("b"), WithUnprovenLimit(limit))
		defer b.Close()
		var srcs []*netsim.PacketConn
		forge := func(i int) {
			pc := n.Listen(netsim.Addr(fmt.Sprintf("src%d", i)))
			srcs = append(srcs, pc)
			syn := wire.Header{Type: wire.Syn, ConnID: uint16(i), SeqNr: 1}
			pc.WriteTo(syn.Append(nil), b.Addr())
			time.Sleep(time.Millisecond)
			if c := b.Stats().Conns; c > limit {
				t.Fatalf("%d connections in the table after %d SYNs, limit %d", c, i+1, limit)
			}
		}
		defer func() {
			for _, pc := range srcs {
				pc.Close()
			}
		}()
		for i := range 3 * limit {
			forge(i)
		}
		time.Sleep(50 * time.Millisecond) // the last SYNs arrive
		if st := b.Stats(); st.SynsEvicted != 0 || st.SynsStateless != 2*limit || st.Conns != limit {
			t.Fatalf("after %d SYNs within %v: %d evicted, %d answered statelessly, %d left; want 0, %d and %d",
				3*limit, unprovenMinAge, st.SynsEvicted, st.SynsStateless, st.Conns, 2*limit, limit)
		}
		time.Sleep(unprovenMinAge)
		for i := range 2 * limit {
			forge(3*limit + i)
		}
		time.Sleep(50 * time.Millisecond)
		if st := b.Stats(); st.SynsEvicted != limit || st.SynsStateless != 3*limit || st.Conns != limit {
			t.Fatalf("after %d more SYNs past %v: %d evicted, %d answered statelessly, %d left; want %d, %d and %d",
				2*limit, unprovenMinAge, st.SynsEvicted, st.SynsStateless, st.Conns, limit, 3*limit, limit)
		}
		time.Sleep(unprovenMaxAge + time.Second)
		last := n.Listen("last")
		defer last.Close()
		syn := wire.Header{Type: wire.Syn, ConnID: 7, SeqNr: 1}
		last.WriteTo(syn.Append(nil), b.Addr())
		time.Sleep(100 * time.Millisecond)
		if c := b.Stats().Conns; c != 1 {
			t.Fatalf("%d connections after the old ones expired, want the new one alone", c)
		}
		synctest.Wait()
		for _, pc := range srcs {
			if st := pc.Stats(); st.Received == 0 || st.BytesReceived > 3*st.SentBytes {
				t.Errorf("%v received %d bytes in %d datagrams for its %d-byte SYN: want the reply, and at most 3 times the SYN",
					pc.LocalAddr(), st.BytesReceived, st.Received, st.SentBytes)
			}
		}
	})
}

// A dialer whose SYN finds the unproven list full of young handshakes (a
// flood) is answered with no connection made, and connects all the same:
// its proof rebuilds the connection from the record, and Accept returns
// it with the data. The reply it got is the one a connection would have
// sent (proto.SynReply).
func TestSimStatelessSynConnects(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit = 8
		n, a, b := simNet(t, WithUnprovenLimit(limit))
		forgeSyns(t, n, b, limit)
		accepted := acceptOne(b)
		ca, err := a.DialUTP(t.Context(), b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer ca.Close()
		if _, err := ca.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		var c *Conn
		select {
		case c = <-accepted:
		case <-time.After(5 * time.Second):
			t.Fatalf("the dialer answered statelessly was never accepted: %+v", b.Stats())
		}
		defer c.Close()
		got := make([]byte, 16)
		k, err := c.Read(got)
		if err != nil || string(got[:k]) != "hello" {
			t.Fatalf("read %q, %v", got[:k], err)
		}
		if st := b.Stats(); st.SynsStateless != 1 || st.SynsEvicted != 0 || st.Revived != 1 {
			t.Fatalf("%+v: want the dialer's SYN answered statelessly and its connection rebuilt, none evicted", st)
		}
	})
}

// A dialer whose proof is lost, and whose connection a flood then sheds
// from the unproven list, still connects: the retransmitted proof finds
// the shed handshake remembered and revives the connection, which Accept
// then returns with the data.
func TestSimShedHandshakeRevives(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit = 8
		n, a, b := simNet(t, WithUnprovenLimit(limit))
		accepted := acceptOne(b)
		ca, err := a.DialUTP(t.Context(), b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		n.Partition("a", "b", true)
		ca.Write([]byte("late proof")) // lost
		shedByFlood(t, n, b, limit)
		n.Partition("a", "b", false)
		var c *Conn
		select {
		case c = <-accepted:
		case <-time.After(5 * time.Second):
			t.Fatal("the dialer whose handshake was shed was never accepted")
		}
		got := make([]byte, 32)
		k, err := c.Read(got)
		if err != nil || string(got[:k]) != "late proof" {
			t.Fatalf("read %q, %v", got[:k], err)
		}
		c.Close()
		ca.Close()
	})
}

// WithEarlyAccept returns a connection at its SYN, for peers whose dialer
// stays silent after the handshake.
func TestSimEarlyAccept(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, _, _ := simNet(t)
		b := NewSocket(n.Listen("early"), WithEarlyAccept())
		defer b.Close()
		raw := n.Listen("raw")
		defer raw.Close()
		syn := wire.Header{Type: wire.Syn, ConnID: 100, SeqNr: 1, WndSize: 1 << 20}
		raw.WriteTo(syn.Append(nil), b.Addr())
		done := make(chan *Conn, 1)
		go func() {
			c, _ := b.AcceptUTP()
			done <- c
		}()
		select {
		case c := <-done:
			if c == nil || c.RemoteAddr().String() != "raw" {
				t.Fatalf("accepted %v", c)
			}
			c.Close()
		case <-time.After(time.Second):
			t.Fatal("Accept waited for a proof with WithEarlyAccept")
		}
	})
}

// A dialer that repeats its SYN after a flood shed its handshake gets the
// same reply again, so the proof it makes from either reply is accepted.
// Answering with a new initial sequence number made the proof from the
// first reply unprovable, and once the new handshake was shed in turn its
// record replaced the one the proof matched: the dialer was reset.
func TestSimRepeatedSynAfterShed(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit = 8
		n, _, b := simNet(t, WithUnprovenLimit(limit))
		raw := n.Listen("dialer")
		defer raw.Close()
		first := synReply(t, raw, b)
		shedByFlood(t, n, b, limit)
		if again := synReply(t, raw, b); again.SeqNr != first.SeqNr {
			t.Fatalf("the repeated SYN was answered with seq_nr %d, the first reply had %d", again.SeqNr, first.SeqNr)
		}
		proof := wire.Header{Type: wire.Data, ConnID: 101, SeqNr: 2, AckNr: first.SeqNr - 1, WndSize: 1 << 20}
		raw.WriteTo(append(proof.Append(nil), "hello"...), b.Addr())
		if !acceptedWithin(b, 5*time.Second) {
			t.Fatal("the proof made from the first reply was not accepted")
		}
	})
}

// A connection rebuilt from a shed handshake numbers its data after the
// proof request the shed one sent. Here the dialer received that request
// (our initial sequence number, empty) and its proof, made from our
// reply before the request arrived, reaches only the rebuilt connection:
// the server's first data must not reuse the request's sequence number,
// which the dialer would drop as a duplicate, reading the FIN after it
// as an empty stream.
func TestSimRevivedAfterProofRequest(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit = 8
		n, _, b := simNet(t, WithUnprovenLimit(limit))
		raw := n.Listen("dialer")
		defer raw.Close()
		buf := make([]byte, 2048)
		next := func() (wire.Header, []byte) {
			t.Helper()
			raw.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, _, err := raw.ReadFrom(buf)
			if err != nil {
				t.Fatalf("nothing from the server: %v", err)
			}
			h, payload, err := wire.Parse(buf[:k])
			if err != nil {
				t.Fatal(err)
			}
			return h, payload
		}
		syn := wire.Header{Type: wire.Syn, ConnID: 100, SeqNr: 1, WndSize: 1 << 20}
		raw.WriteTo(syn.Append(nil), b.Addr())
		reply, _ := next()
		isn := reply.SeqNr
		if req, _ := next(); req.Type != wire.Data || req.SeqNr != isn {
			t.Fatalf("got %+v; want the proof request, DATA with seq_nr %d", req, isn)
		}
		shedByFlood(t, n, b, limit)
		proof := wire.Header{Type: wire.Data, ConnID: 101, SeqNr: 2, AckNr: isn - 1, WndSize: 1 << 20}
		raw.WriteTo(append(proof.Append(nil), "ping"...), b.Addr())
		c, err := b.AcceptUTP()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("pong")); err != nil {
			t.Fatal(err)
		}
		for {
			h, payload := next()
			if h.Type == wire.Data && len(payload) > 0 {
				if h.SeqNr != isn+1 {
					t.Fatalf("the server's first data has seq_nr %d; the proof request took %d, so want %d", h.SeqNr, isn, isn+1)
				}
				return
			}
		}
	})
}

// shedByFlood waits until the handshakes b holds may be displaced, then
// forges twice limit SYNs from as many sources toward b, a Socket whose
// unproven limit is limit, so that every handshake it held before is
// shed, and checks that some were (each older one is shed before any of
// the flood's). Inside a synctest bubble.
func shedByFlood(t *testing.T, n *netsim.Network, b *Socket, limit int) {
	t.Helper()
	time.Sleep(unprovenMinAge) // until the handshakes held may be displaced
	before := b.Stats().SynsEvicted
	forgeSyns(t, n, b, 2*limit)
	if st := b.Stats(); st.SynsEvicted == before || st.Conns != limit {
		t.Fatalf("the flood evicted %d handshakes and left %d connections; the dialer's was to be among the evicted", st.SynsEvicted-before, st.Conns)
	}
}

// forgeSyns sends count SYNs to b, each from its own source (src0, src1
// ...), and waits until they have arrived. Inside a synctest bubble.
func forgeSyns(t *testing.T, n *netsim.Network, b *Socket, count int) {
	t.Helper()
	for i := range count {
		pc := n.Listen(netsim.Addr(fmt.Sprintf("src%d", i)))
		t.Cleanup(func() { pc.Close() })
		pc.WriteTo((&wire.Header{Type: wire.Syn, ConnID: uint16(i), SeqNr: 1}).Append(nil), b.Addr())
	}
	time.Sleep(50 * time.Millisecond)
}

// acceptOne returns a channel that receives the next connection b's
// Accept returns; it is closed, empty, when Accept fails.
func acceptOne(b *Socket) <-chan *Conn {
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := b.AcceptUTP()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	return accepted
}

// A connection rebuilt from a shed handshake takes every genuine proof:
// one acknowledging our reply (initial sequence number − 1) or the proof
// request the shed connection sent (the initial sequence number), on
// DATA or on a bare STATE. A proof the Socket let through (proves) but
// the rebuilt state machine refused would be dropped without a word,
// leaving the dialer unanswered.
func TestSimRevivedTakesEitherProof(t *testing.T) {
	for _, typ := range []wire.Type{wire.Data, wire.State} {
		for _, below := range []uint16{1, 0} {
			t.Run(fmt.Sprintf("%v_isn-%d", typ, below), func(t *testing.T) {
				checkLeaks(t)
				synctest.Test(t, func(t *testing.T) {
					const limit = 8
					n, _, b := simNet(t, WithUnprovenLimit(limit))
					raw := n.Listen("dialer")
					defer raw.Close()
					reply := synReply(t, raw, b)
					time.Sleep(time.Second) // the proof request goes out
					shedByFlood(t, n, b, limit)
					proof := wire.Header{Type: typ, ConnID: 101, SeqNr: 2, AckNr: reply.SeqNr - below, WndSize: 1 << 20}
					if typ == wire.State {
						proof.SeqNr = 3 // a STATE carries the next sequence number
					}
					raw.WriteTo(proof.Append(nil), b.Addr())
					if !acceptedWithin(b, 5*time.Second) {
						t.Fatalf("a %v acknowledging %d (our initial sequence number %d) did not revive the shed handshake: %+v",
							typ, proof.AckNr, reply.SeqNr, b.Stats())
					}
				})
			})
		}
	}
}

// synReply sends the SYN of connection id 100, sequence number 1, from
// raw to b and returns b's reply, a STATE, passing over proof requests
// that arrived before it. Inside a synctest bubble.
func synReply(t *testing.T, raw *netsim.PacketConn, b *Socket) wire.Header {
	t.Helper()
	syn := wire.Header{Type: wire.Syn, ConnID: 100, SeqNr: 1, WndSize: 1 << 20}
	raw.WriteTo(syn.Append(nil), b.Addr())
	buf := make([]byte, 2048)
	raw.SetReadDeadline(time.Now().Add(time.Second))
	for {
		k, _, err := raw.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no reply to the SYN: %v", err)
		}
		h, payload, err := wire.Parse(buf[:k])
		if err == nil && h.Type == wire.Data && len(payload) == 0 {
			continue // a proof request sent earlier, read only now
		}
		if err != nil || h.Type != wire.State {
			t.Fatalf("reply %+v, %v; want a STATE", h, err)
		}
		return h
	}
}

// acceptedWithin reports whether b's Accept returns a connection within
// d, which it closes. A waiting Accept ends when the test closes b.
func acceptedWithin(b *Socket, d time.Duration) bool {
	accepted := make(chan *Conn, 1)
	go func() {
		c, _ := b.AcceptUTP()
		accepted <- c
	}()
	select {
	case c := <-accepted:
		if c != nil {
			c.Close()
		}
		return c != nil
	case <-time.After(d):
		return false
	}
}
