package utp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// A server that echoes what it reads, and a client that talks to it, over
// UDP loopback.
func Example() {
	server, err := utp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer server.Close()
	go func() {
		for {
			c, err := server.Accept()
			if err != nil {
				return // the Socket was closed
			}
			go func() {
				defer c.Close()
				io.Copy(c, c) // echo until the client half-closes
			}()
		}
	}()

	client, err := utp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialUTP(ctx, server.Addr())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("hello over uTP"))
	c.CloseWrite() // the server reads EOF and finishes
	reply, err := io.ReadAll(c)
	fmt.Printf("%s %v\n", reply, err)
	// Output: hello over uTP <nil>
}

// A port shared with another protocol: datagrams that are not uTP come out
// of ReadFrom, and WriteTo sends raw datagrams.
func ExampleSocket_ReadFrom() {
	s, err := utp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	peer, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer peer.Close()
	peer.WriteTo([]byte("d1:q4:pinge"), s.Addr()) // a DHT message, not uTP

	buf := make([]byte, 1500)
	n, from, err := s.ReadFrom(buf)
	fmt.Println(string(buf[:n]), from.String() == peer.LocalAddr().String(), err)
	s.WriteTo([]byte("d1:r4:ponge"), from)
	n, _, _ = peer.ReadFrom(buf)
	fmt.Println(string(buf[:n]))
	// Output:
	// d1:q4:pinge true <nil>
	// d1:r4:ponge
}

// A server that shuts down gracefully: Shutdown ends its accept loop at
// once and returns when the connection it serves has finished.
func ExampleSocket_Shutdown() {
	server, err := utp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := server.Accept()
			if errors.Is(err, net.ErrClosed) { // ErrShutdown matches it
				return
			}
			if err != nil {
				panic(err)
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()

	client, err := utp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer client.Close()
	c, err := client.DialUTP(context.Background(), server.Addr())
	if err != nil {
		panic(err)
	}
	c.Write([]byte("bye"))
	c.CloseWrite()
	reply, _ := io.ReadAll(c)
	c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		server.Close() // what is still open is reset
	}
	<-served
	fmt.Printf("%s, %v\n", reply, server.Err())
	// Output: bye, use of closed network connection
}
