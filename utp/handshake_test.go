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
		accepted := make(chan *Conn, 1)
		go func() {
			c, err := b.AcceptUTP()
			if err == nil {
				accepted <- c
			}
			close(accepted)
		}()
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

// Unproven connections are bounded: SYNs beyond the limit displace the
// oldest, silently, and connections older than unprovenMaxAge go at the
// next SYN. Nothing but the reply, and what the state machine's 3x budget
// allows, reaches the forged sources.
func TestSimUnprovenBounded(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit = 8
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
		b := NewSocket(n.Listen("b"), WithUnprovenLimit(limit))
		defer b.Close()
		var srcs []*netsim.PacketConn
		for i := range 3 * limit {
			pc := n.Listen(netsim.Addr(fmt.Sprintf("src%d", i)))
			defer pc.Close()
			srcs = append(srcs, pc)
			syn := wire.Header{Type: wire.Syn, ConnID: uint16(i), SeqNr: 1}
			pc.WriteTo(syn.Append(nil), b.Addr())
			time.Sleep(time.Millisecond)
			if c := b.Stats().Conns; c > limit {
				t.Fatalf("%d connections in the table after %d SYNs, limit %d", c, i+1, limit)
			}
		}
		time.Sleep(50 * time.Millisecond) // the last SYNs arrive
		if st := b.Stats(); st.SynsEvicted != 2*limit || st.Conns != limit {
			t.Fatalf("after %d SYNs: %d evicted, %d left; want %d and %d", 3*limit, st.SynsEvicted, st.Conns, 2*limit, limit)
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

// A dialer whose proof is lost, and whose connection a flood then sheds
// from the unproven list, still connects: the retransmitted proof finds
// the shed handshake remembered and revives the connection, which Accept
// then returns with the data.
func TestSimShedHandshakeRevives(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const limit = 8
		n, a, b := simNet(t, WithUnprovenLimit(limit))
		accepted := make(chan *Conn, 1)
		go func() {
			c, err := b.AcceptUTP()
			if err == nil {
				accepted <- c
			}
			close(accepted)
		}()
		ca, err := a.DialUTP(t.Context(), b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		n.Partition("a", "b", true)
		ca.Write([]byte("late proof")) // lost
		for i := range 2 * limit {
			pc := n.Listen(netsim.Addr(fmt.Sprintf("src%d", i)))
			syn := wire.Header{Type: wire.Syn, ConnID: uint16(i), SeqNr: 1}
			pc.WriteTo(syn.Append(nil), b.Addr())
			defer pc.Close()
		}
		time.Sleep(50 * time.Millisecond)
		if st := b.Stats(); st.SynsEvicted < limit {
			t.Fatalf("the flood evicted %d handshakes; the dialer's was to be among them", st.SynsEvicted)
		}
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
