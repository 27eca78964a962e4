package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/inet256/go-utp/v2/cmd/utp/internal/fileproto"
)

// summary is what send and recv report for each file (and --json prints,
// one object per line).
type summary struct {
	File        string  `json:"file"`
	Bytes       int64   `json:"bytes"`        // the file's size
	Resumed     int64   `json:"resumed_from"` // bytes an earlier attempt had moved
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"mb_per_s"` // 10^6 bytes moved now, per second
	// RTTMillis is the path's round-trip time: the smallest sample this
	// end took, so that sender and receiver report the same quantity (a
	// bulk sender's smoothed RTT also counts the queue it builds, which
	// the receiver's few samples do not see). Omitted (0) when no packet
	// of ours was acknowledged with a usable sample.
	RTTMillis float64 `json:"rtt_ms,omitempty"`
	// SRTTMillis is this end's smoothed RTT at the end, queue included:
	// on a sender it shows the queuing the transfer caused.
	SRTTMillis  float64 `json:"srtt_ms,omitempty"`
	Retransmits uint64  `json:"retransmits"`
	SHA256      string  `json:"sha256"`
	Peer        string  `json:"peer"`
}

func (s summary) print(asJSON bool) {
	if asJSON {
		json.NewEncoder(os.Stdout).Encode(s)
		return
	}
	rtt, resumed := "", ""
	if s.RTTMillis > 0 {
		// Loopback round trips are tens of microseconds: keep two
		// significant digits there.
		prec := 1
		if s.RTTMillis < 1 {
			prec = 2
		}
		rtt = fmt.Sprintf("path RTT %.*f ms, ", prec, s.RTTMillis)
	}
	if s.Resumed > 0 {
		resumed = fmt.Sprintf(" (resumed at %s)", humanBytes(s.Resumed))
	}
	moved := s.Bytes - s.Resumed
	fmt.Fprintf(os.Stderr, "%s: %s%s in %.2fs, %s/s, %s%d retransmits, sha256 %s\n",
		fileproto.Printable(s.File), humanBytes(s.Bytes), resumed, s.Seconds,
		humanBytes(int64(float64(moved)/max(s.Seconds, 1e-9))), rtt, s.Retransmits, s.SHA256[:16])
}

// transferFlags are the flags send and recv share.
type transferFlags struct {
	netFlags
	asJSON bool
	idle   time.Duration
}

func (f *transferFlags) register(cmd *cobra.Command) {
	f.netFlags.register(cmd)
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print each file's summary as a JSON line on stdout, and a JSON error object on failure (the progress bar stays on stderr)")
	cmd.Flags().DurationVar(&f.idle, "idle-timeout", 30*time.Second, "fail once the peer has sent or acknowledged nothing for this long")
}

func (f *transferFlags) check() error {
	return positive("--idle-timeout", f.idle)
}

// positive refuses a zero or negative duration flag.
func positive(flag string, d time.Duration) error {
	if d <= 0 {
		return fail(exitUsage, "%s must be positive, not %v", flag, d)
	}
	return nil
}

func newSendCmd() *cobra.Command {
	var f transferFlags
	var timeout time.Duration
	var name string
	cmd := &cobra.Command{
		Use:   "send FILE... ADDR",
		Short: "Send files to a 'utp recv' at ADDR; resumes an interrupted transfer",
		Long: `send connects to a 'utp recv' at ADDR (an INET256 node address or
udp://HOST:PORT) and sends each FILE under its base name; FILE '-' is
standard input (named by --name). Every file is verified by SHA-256 on
arrival, and send exits 0 once the receiver has verified them all.

If the receiver holds part of a file from an interrupted transfer, send
checks that part against its own file (by SHA-256) and sends only the
rest: run the same command again to resume. Standard input always starts
from the beginning.

When the receiver refuses a file, send says why and exits with the
receiver's status: 7 if it already has a file by that name, 8 if its disk
filled up; 9 if the data arrived corrupted. It fails after --idle-timeout
without progress, and on SIGINT or SIGTERM it resets the connection (the
receiver keeps what arrived) and exits 130 or 143.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := firstErr(f.check(), positive("--timeout", timeout)); err != nil {
				return err
			}
			addr := args[len(args)-1]
			if cmd.Flags().Changed("name") && !slices.Contains(args[:len(args)-1], "-") {
				// A regular file goes under its own name: ignoring
				// --name would send it under one the user did not ask for.
				return fail(exitUsage, "--name names standard input ('-'), which is not among the files; a file is sent under its own name")
			}
			out := newBars(quiet)
			srcs, err := openSources(args[:len(args)-1], name, out)
			if err != nil {
				return err
			}
			defer srcs.close()
			c, ep, err := dialPeer(&f.netFlags, addr, timeout)
			if err != nil {
				return err
			}
			defer ep.Close()
			srcs.lag = func() int64 { return int64(c.Unacknowledged()) }
			in := catchInterrupts(ep.Close)
			defer in.stop()
			sent, err := sendWatched(c, ep, srcs.list, f.idle, in)
			srcs.stopBars()
			if code := in.interrupted(); code != 0 && err != nil {
				return fail(code, "interrupted: the connection was reset; run the same command again to resume")
			}
			if err != nil {
				if dead := ep.daemonGone(nil); dead != nil {
					return dead
				}
				return sendError(err, srcs.list, len(sent), f.idle)
			}
			for i, s := range sent {
				newSummary(s.Header, s.Offset, s.Bytes, s.Sum, srcs.took(i), c).print(f.asJSON)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "give up connecting after this long (over INET256, an address the network has not found within 5 s is unreachable)")
	cmd.Flags().StringVar(&name, "name", "stdin", "the name to send standard input ('-') under")
	return cmd
}

func newRecvCmd() *cobra.Command {
	var f transferFlags
	var force, toStdout, keep bool
	var out string
	var from []string
	cmd := &cobra.Command{
		Use:   "recv [udp://HOST:PORT]",
		Short: "Receive files from 'utp send' into --out, verified, resumable",
		Long: `recv waits for one 'utp send' (or, with --keep, one after another) and
writes its files into --out (default the current directory) under the
names the sender gave. Names are checked: a name with a path separator,
a control character or more than 200 bytes is refused.

A file arrives as .NAME.utp-partial in --out and takes its name only once
its SHA-256 matched, after an fsync, so a failure, a kill or a full disk
never leaves a half-written NAME and never changes an existing file.
The partial file stays after a failure or an interrupt: the same send run
again resumes from it (its content is checked by hash). An existing NAME
is replaced only with --force. --stdout writes the data to standard
output instead (no resume; a failed check is reported, but the data has
been written).

--from accepts connections only from the given addresses (repeatable;
over INET256 a node address is authenticated by its key). Other
connections, and a second sender without --keep, are turned away. recv
fails after --idle-timeout without data; on SIGINT or SIGTERM it resets
the connection and exits 130 or 143.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if !toStdout {
				// A bad --out is bad input: say so now, not once a
				// sender has connected.
				if info, err := os.Stat(out); err != nil {
					return fail(exitUsage, "--out %s: %s", out, firstLine(err))
				} else if !info.IsDir() {
					return fail(exitUsage, "--out %s is not a directory", out)
				}
			}
			r := &receiver{f: &f, force: force, toStdout: toStdout, keep: keep, out: out, from: from}
			return r.run(args)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file (once the new one is verified)")
	cmd.Flags().StringVar(&out, "out", ".", "directory to write the files into")
	cmd.Flags().BoolVar(&toStdout, "stdout", false, "write the received data to standard output instead of files")
	cmd.Flags().BoolVar(&keep, "keep", false, "after a sender, wait for the next (one at a time) instead of exiting")
	cmd.Flags().StringArrayVar(&from, "from", nil, "accept only this peer address (repeatable)")
	return cmd
}
