package utp

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

func TestTmpChurnCount(t *testing.T) {
	srv, cli := listenUDP(t), listenUDP(t)
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf)
				}
			}()
		}
	}()
	const n = 2000
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range 16 {
		wg.Go(func() {
			msg := make([]byte, 4096)
			for {
				mu.Lock()
				next++
				i := next
				mu.Unlock()
				if i > n {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err := cli.DialContext(ctx, srv.Addr())
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				c.Write(msg)
				io.ReadFull(c, msg)
				c.Close()
			}
		})
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	fmt.Printf("srv %+v\ncli %+v\n", srv.Stats(), cli.Stats())
}
