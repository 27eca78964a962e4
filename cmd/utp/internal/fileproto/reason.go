package fileproto

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Reason says in one word why a receiver refused or stopped a file.
// Unknown reasons from a newer peer are kept as they came.
type Reason string

// The reasons this version sends.
const (
	ReasonExists   Reason = "exists"    // it has a file by that name and may not replace it
	ReasonDiskFull Reason = "disk-full" // no space left for the file
	ReasonIO       Reason = "io"        // creating, writing or storing the file failed
	ReasonBadName  Reason = "bad-name"  // the name is not a plain, printable file name
	ReasonProtocol Reason = "protocol"  // the sender broke this protocol
	ReasonAborted  Reason = "aborted"   // the receiver was stopped (a signal)
	ReasonBusy     Reason = "busy"      // it serves another sender
	ReasonDenied   Reason = "denied"    // it does not take files from this peer
)

// WriteRefusal sends r as the first answer of a receiver that will not
// take anything on this stream (busy, denied), then the caller closes it.
func WriteRefusal(w io.Writer, r *Refusal) error {
	return writeLine(w, r.line())
}

// Refusal is a receiver's "no": the file was refused or stopped.
type Refusal struct {
	Reason Reason
	Text   string // for people; from a peer, escaped with Printable
}

func (r *Refusal) Error() string {
	if r.Text == "" {
		return string(r.Reason)
	}
	return r.Text
}

// Refuse makes a Refusal.
func Refuse(reason Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Text: fmt.Sprintf(format, args...)}
}

// ErrCorrupt: the file's SHA-256 did not match; the receiver stored
// nothing.
var ErrCorrupt = errors.New("SHA-256 mismatch")

// ErrSenderAborted: the sender gave up on the transfer (its file could
// not be read) and said so.
var ErrSenderAborted = errors.New("the sender aborted the transfer")

func (r *Refusal) line() string {
	text := Printable(r.Text)
	if max := MaxLine - 64; len(text) > max {
		text = strings.ToValidUTF8(text[:max], "") + "..."
	}
	return "no " + string(r.Reason) + " " + text
}

// parseRefusal reads the rest of a "no" line.
func parseRefusal(rest string) (*Refusal, error) {
	word, text, _ := strings.Cut(rest, " ")
	if word == "" || len(word) > 32 || strings.ContainsFunc(word, func(r rune) bool {
		return !(r == '-' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) {
		return nil, protocolError("a refusal without a reason word: %.60q", rest)
	}
	return &Refusal{Reason: Reason(word), Text: Printable(text)}, nil
}
