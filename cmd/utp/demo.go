package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/inet256/go-utp/v2/cmd/utp/internal/fileproto"
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
			defer a.Close()
			defer b.Close()
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
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// demoTransfer sends size pseudo-random bytes from a to b with the file
// protocol; b hashes them and discards them.
func demoTransfer(a, b *endpoint, size int64) (summary, error) {
	received := make(chan error, 1)
	go func() {
		c, err := b.sock.AcceptUTP()
		if err != nil {
			received <- err
			return
		}
		_, err = recvSession(c, &writerSink{w: io.Discard, out: &bars{}}, 30*time.Second)
		received <- err
	}()
	raddr, err := b.resolve(b.local)
	if err != nil {
		return summary{}, err
	}
	c, err := dialWithin(a.sock, raddr, b.local, 15*time.Second)
	if err != nil {
		return summary{}, err
	}
	out := newBars(quiet)
	srcs := &sources{lag: func() int64 { return int64(c.Unacknowledged()) }}
	br := &barReader{r: rand.NewChaCha8([32]byte{'u', 't', 'p'}), all: srcs, out: out, name: "demo", size: size}
	srcs.bars = []*barReader{br}
	srcs.list = []fileproto.Source{{Header: fileproto.Header{Name: "demo", Size: size}, R: io.LimitReader(br, size)}}
	sent, err := sendSession(c, srcs.list, 30*time.Second, nil)
	srcs.stopBars()
	if err != nil {
		return summary{}, sendError(err, srcs.list, len(sent), 30*time.Second)
	}
	if err := <-received; err != nil {
		return summary{}, fail(exitFailure, "receiver: %v", err)
	}
	s := sent[0]
	return newSummary(s.Header, s.Offset, s.Bytes, s.Sum, srcs.took(0), c), nil
}
