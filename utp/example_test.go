package utp_test

import (
	"context"
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
