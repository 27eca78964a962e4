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
