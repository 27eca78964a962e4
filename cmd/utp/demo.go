package main

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/inet256/go-utp/v2/utp"
)

func newDemoCmd() *cobra.Command {
	var udp, asJSON bool
	var mib int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Move data between two INET256 nodes in this process and verify it",
		Long: `demo starts two INET256 nodes in this process (an in-memory INET256
network, no daemon needed), opens a uTP stream from one node address to the
other, moves --size MiB with a progress bar, verifies the SHA-256 and prints
a summary. --udp runs the same over UDP loopback. It exits non-zero if
anything is wrong.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if mib <= 0 {
				return fail(exitUsage, "--size must be at least 1 MiB")
			}
			var a, b *endpoint
			var err error
			if udp {
				a, b, err = udpPair()
			} else {
				a, b, err = inet256MemPair()
			}
			if err != nil {
				return err
			}
			defer a.close()
			defer b.close()
			fmt.Fprintf(os.Stderr, "demo: %s -> %s, %d MiB\n", a.local, b.local, mib)
			s, err := demoTransfer(a, b, int64(mib)<<20)
			if err != nil {
				return err
			}
			s.print(asJSON)
			return nil
		},
	}
	cmd.Flags().BoolVar(&udp, "udp", false, "run over UDP loopback instead of in-memory INET256")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout")
	cmd.Flags().IntVar(&mib, "size", 64, "MiB to move")
	return cmd
}

func udpPair() (*endpoint, *endpoint, error) {
	a, err := openUDP("127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	b, err := openUDP("127.0.0.1:0")
	if err != nil {
		a.close()
		return nil, nil, err
	}
	return a, b, nil
}

// demoTransfer sends size pseudo-random bytes from a to b with the file
// protocol, and checks them on arrival.
func demoTransfer(a, b *endpoint, size int64) (summary, error) {
	received := make(chan error, 1)
	go func() {
		c, err := b.sock.AcceptUTP()
		if err != nil {
			received <- err
			return
		}
		defer c.Close()
		received <- receiveDiscard(c, b.sock)
	}()
	raddr, err := b.resolve(b.local)
	if err != nil {
		return summary{}, err
	}
	c, err := dialWithin(a.sock, raddr, b.local, 15*time.Second)
	if err != nil {
		return summary{}, err
	}
	defer c.Close()
	src := rand.NewChaCha8([32]byte{'u', 't', 'p'})
	s, err := sendFile(c, a.sock, src, "demo", size)
	if err != nil {
		return summary{}, err
	}
	if err := <-received; err != nil {
		return summary{}, fail(exitFailure, "receiver: %v", err)
	}
	return s, nil
}

// receiveDiscard is recvFile without a file: it hashes what arrives.
func receiveDiscard(c *utp.Conn, s *utp.Socket) error {
	r := bufio.NewReaderSize(c, 256<<10)
	hdr, err := readHeader(r)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, hdr.Size))
	if err != nil || n != hdr.Size {
		return errors.Join(err, fmt.Errorf("received %d of %d bytes", n, hdr.Size))
	}
	_, err = verify(c, s, r, h, "", hdr, n, time.Now())
	return err
}
