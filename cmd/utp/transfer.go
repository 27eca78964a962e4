package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/inet256/go-utp/v2/utp"
)

// The file protocol: the sender writes a magic line, a JSON header line
// {"name":..., "size":...}, the file's bytes and their SHA-256; the
// receiver answers "ok\n" when the hash matches, "bad\n" otherwise.
const fileMagic = "utp-file-1\n"

type fileHeader struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// summary is what send and recv report at the end (and --json prints).
type summary struct {
	File        string  `json:"file"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"mb_per_s"`
	RTTMillis   float64 `json:"rtt_ms"`
	Retransmits uint64  `json:"retransmits"`
	SHA256      string  `json:"sha256"`
	Peer        string  `json:"peer"`
}

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
	fmt.Fprintf(os.Stderr, "%s: %s in %.2fs, %.1f MB/s, RTT %.1f ms, %d retransmits, sha256 %s\n",
		s.File, humanBytes(s.Bytes), s.Seconds, s.MBPerSecond, s.RTTMillis, s.Retransmits, s.SHA256[:16])
}

func newSendCmd() *cobra.Command {
	var f netFlags
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send FILE ADDR",
		Short: "Send FILE to a 'utp recv' at ADDR",
		Args:  cobra.ExactArgs(2),
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
			s, err := sendFile(c, file, filepath.Base(args[0]), info.Size(), !asJSON)
			if err != nil {
				return err
			}
			s.print(asJSON)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "give up connecting after this long")
	return cmd
}

// sendFile runs the sender's side of the file protocol.
func sendFile(c *utp.Conn, r io.Reader, name string, size int64, progress bool) (summary, error) {
	start := time.Now()
	hdr, _ := json.Marshal(fileHeader{Name: name, Size: size})
	w := bufio.NewWriterSize(c, 256<<10)
	w.WriteString(fileMagic)
	w.Write(append(hdr, '\n'))
	h := sha256.New()
	bar := newProgress(name, size, progress)
	n, err := io.Copy(io.MultiWriter(w, h, bar), io.LimitReader(r, size))
	bar.done()
	if err == nil && n != size {
		err = fmt.Errorf("file shrank to %d bytes while sending", n)
	}
	if err == nil {
		_, err = w.Write(h.Sum(nil))
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = c.CloseWrite()
	}
	if err != nil {
		return summary{}, fail(exitFailure, "sending %s: %v", name, err)
	}
	reply, err := io.ReadAll(io.LimitReader(c, 16))
	switch {
	case err != nil:
		return summary{}, fail(exitFailure, "waiting for the receiver's verdict: %v", err)
	case string(reply) != "ok\n":
		return summary{}, fail(exitCorrupt, "the receiver reports that %s arrived corrupted", name)
	}
	s := newSummary(name, n, time.Since(start), c, h.Sum(nil))
	return s, finish(c)
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
			c, ep, err := acceptOne(&f, args, "waiting for a file on")
			if err != nil {
				return err
			}
			defer ep.close()
			defer c.Close()
			s, err := recvFile(c, out, force, !asJSON)
			if err != nil {
				return err
			}
			s.print(asJSON)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	cmd.Flags().StringVar(&out, "out", ".", "directory to write the file into")
	return cmd
}

// recvFile runs the receiver's side of the file protocol.
func recvFile(c *utp.Conn, dir string, force, progress bool) (summary, error) {
	start := time.Now()
	r := bufio.NewReaderSize(c, 256<<10)
	hdr, err := readHeader(r)
	if err != nil {
		return summary{}, err
	}
	path := filepath.Join(dir, hdr.Name)
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	file, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return summary{}, fail(exitFileExists, "%s exists; use --force to overwrite it", path)
	}
	if err != nil {
		return summary{}, fail(exitFailure, "cannot create %s: %v", path, err)
	}
	h := sha256.New()
	bar := newProgress(hdr.Name, hdr.Size, progress)
	n, err := io.Copy(io.MultiWriter(file, h, bar), io.LimitReader(r, hdr.Size))
	bar.done()
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil || n != hdr.Size {
		removeRegular(path)
		return summary{}, recvError(path, n, hdr.Size, err)
	}
	return verify(c, r, h, path, hdr, n, start)
}

// verify compares the sender's hash with ours and tells the sender. A
// corrupt file at path (if any) is removed.
func verify(c *utp.Conn, r io.Reader, h hash.Hash, path string, hdr fileHeader, n int64, start time.Time) (summary, error) {
	remove := func() {
		if path != "" {
			removeRegular(path)
		}
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, want); err != nil {
		remove()
		return summary{}, fail(exitFailure, "the sender stopped before its checksum: %v", err)
	}
	got := h.Sum(nil)
	if !bytes.Equal(got, want) {
		c.Write([]byte("bad\n"))
		c.CloseWrite()
		remove()
		return summary{}, fail(exitCorrupt, "%s failed its SHA-256 check", hdr.Name)
	}
	c.Write([]byte("ok\n"))
	c.CloseWrite()
	io.Copy(io.Discard, r) // wait for the sender's end
	s := newSummary(hdr.Name, n, time.Since(start), c, got)
	return s, finish(c)
}

// removeRegular deletes a partial or corrupt download, but only if it is a
// regular file: with --force the target may be a device (never remove
// /dev/full because a write to it failed).
func removeRegular(path string) {
	if info, err := os.Lstat(path); err == nil && info.Mode().IsRegular() {
		os.Remove(path)
	}
}

func readHeader(r *bufio.Reader) (fileHeader, error) {
	magic, err := r.ReadString('\n')
	if err != nil || magic != fileMagic {
		return fileHeader{}, fail(exitFailure, "the peer is not 'utp send'")
	}
	line, err := r.ReadBytes('\n')
	var hdr fileHeader
	if err != nil || json.Unmarshal(line, &hdr) != nil || hdr.Size < 0 {
		return fileHeader{}, fail(exitFailure, "malformed file header from the sender")
	}
	// Only a plain name: a sender must not choose where we write.
	if hdr.Name == "" || hdr.Name != filepath.Base(hdr.Name) || hdr.Name == "." || hdr.Name == ".." {
		return fileHeader{}, fail(exitFailure, "the sender proposed an unsafe file name %q", hdr.Name)
	}
	return hdr, nil
}

func recvError(path string, n, size int64, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fail(exitDiskFull, "no space left on the device writing %s (%s of %s written)",
			path, humanBytes(n), humanBytes(size))
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return fail(exitFailure, "receiving %s: %v (partial file removed)", path, err)
}
