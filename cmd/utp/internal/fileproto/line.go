package fileproto

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// Version is the first line a sender writes.
	Version = "utp-file/2"
	// MaxLine bounds every control line, its '\n' included.
	MaxLine = 1024
	// MaxName bounds a file name in bytes: short enough that the
	// receiver's temporary name for it fits the usual 255-byte limit.
	MaxName = 200
	// MaxChunk bounds the data of one frame.
	MaxChunk = 1 << 20
)

// ErrProtocol is wrapped by every error about what the peer sent.
var ErrProtocol = errors.New("protocol violation")

func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// readLine reads one control line, without its '\n'. A line longer than
// MaxLine is an error; what was read of it is lost.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) == MaxLine-1 {
			return "", protocolError("a line longer than %d bytes", MaxLine)
		}
		b = append(b, c)
	}
}

// writeLine writes one control line; it refuses one too long to be read.
func writeLine(w io.Writer, line string) error {
	if len(line) >= MaxLine || strings.ContainsRune(line, '\n') {
		return fmt.Errorf("fileproto: line too long or multi-line: %.40q", line)
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}

// ValidName reports why name cannot name a received file, or nil: it must
// be a plain file name, so that a sender chooses neither the directory
// (no separators, not "." or "..") nor what a terminal does when the name
// is printed (no control, format or other unprintable characters), and
// bounded (MaxName bytes).
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("empty file name")
	case len(name) > MaxName:
		return fmt.Errorf("file name longer than %d bytes", MaxName)
	case !utf8.ValidString(name):
		return errors.New("file name is not UTF-8")
	case name == "." || name == "..":
		return fmt.Errorf("file name %q", name)
	}
	for _, r := range name {
		if r == '/' || r == '\\' {
			return errors.New("file name with a path separator")
		}
		if !unicode.IsPrint(r) {
			return fmt.Errorf("file name with the unprintable character %U", r)
		}
	}
	return nil
}

// Printable returns s with every character a terminal could interpret
// (controls, escapes, format characters such as bidirectional overrides,
// invalid UTF-8) written as a Go escape, so that text from a peer can be
// printed safely. Printable text is returned unchanged.
func Printable(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}
