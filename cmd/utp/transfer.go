package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/inet256/go-utp/v2/utp"
)

// summary is what send and recv report at the end (and --json prints).
type summary struct {
	File        string  `json:"file"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"mb_per_s"`
	// RTTMillis is the connection's smoothed round-trip time, omitted
	// (0) when no packet of ours was acknowledged with a usable sample.
	RTTMillis   float64 `json:"rtt_ms,omitempty"`
	Retransmits uint64  `json:"retransmits"`
	SHA256      string  `json:"sha256"`
	Peer        string  `json:"peer"`
}

// newSummary describes a transfer of n bytes that took took. Call it once
// the connection is finished, so that its statistics are final.
func newSummary(name string, n int64, took time.Duration, c *utp.Conn, sum []byte) summary {
	st := c.Stats()
	return summary{
		File: name, Bytes: n, Seconds: took.Seconds(),
		MBPerSecond: float64(n) / 1e6 / max(took.Seconds(), 1e-9),
		RTTMillis:   float64(st.RTT.Microseconds()) / 1000,
		Retransmits: st.Retransmits, SHA256: fmt.Sprintf("%x", sum),
		Peer: c.RemoteAddr().String(),
	}
}

func (s summary) print(asJSON bool) {
	if asJSON {
		json.NewEncoder(os.Stdout).Encode(s)
		return
	}
	rtt := ""
	if s.RTTMillis > 0 {
		rtt = fmt.Sprintf("RTT %.1f ms, ", s.RTTMillis)
	}
	fmt.Fprintf(os.Stderr, "%s: %s in %.2fs, %.1f MB/s, %s%d retransmits, sha256 %s\n",
		s.File, humanBytes(s.Bytes), s.Seconds, s.MBPerSecond, rtt, s.Retransmits, s.SHA256[:16])
}

func newSendCmd() *cobra.Command {
	var f netFlags
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send FILE ADDR",
		Short: "Send FILE to a 'utp recv' at ADDR",
		Long: `send connects to a 'utp recv' at ADDR (an INET256 node address or
udp://HOST:PORT) and sends FILE under its base name, with its SHA-256.
It exits 0 once the receiver has verified the hash. When the receiver
refuses the file, send says why and exits with the receiver's status: 7 if
the receiver already has a file by that name, 8 if its disk filled up; 9 if
the data arrived corrupted.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := os.Open(args[0])
			if err != nil {
				return fail(exitFailure, "cannot read %s: %v", args[0], err)
			}
			defer file.Close()
			info, err := file.Stat()
			if err != nil || !info.Mode().IsRegular() {
				return fail(exitFailure, "%s is not a regular file", args[0])
			}
			c, ep, err := dialPeer(&f, args[1], timeout)
			if err != nil {
				return err
			}
			defer ep.close()
			defer c.Close()
			s, err := sendFile(c, ep.sock, file, filepath.Base(args[0]), info.Size())
			if err != nil {
				return err
			}
			s.print(asJSON)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout (the progress bar stays on stderr)")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "give up connecting after this long")
	return cmd
}

func newRecvCmd() *cobra.Command {
	var f netFlags
	var asJSON, force bool
	var out string
	cmd := &cobra.Command{
		Use:   "recv [udp://HOST:PORT]",
		Short: "Receive one file from 'utp send' into --out",
		Long: `recv waits for one 'utp send', writes the file into --out (default the
current directory) under the name the sender gave, and checks its SHA-256.
It never overwrites an existing file unless --force is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A bad --out is bad input: say so now, not once a sender
			// has connected.
			if info, err := os.Stat(out); err != nil {
				return fail(exitUsage, "--out %s: %s", out, firstLine(err))
			} else if !info.IsDir() {
				return fail(exitUsage, "--out %s is not a directory", out)
			}
			c, ep, err := acceptOne(&f, args, "waiting for a file on")
			if err != nil {
				return err
			}
			defer ep.close()
			defer c.Close()
			s, err := recvFile(c, ep.sock, out, force)
			if err != nil {
				return err
			}
			s.print(asJSON)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout (the progress bar stays on stderr)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	cmd.Flags().StringVar(&out, "out", ".", "directory to write the file into")
	return cmd
}
