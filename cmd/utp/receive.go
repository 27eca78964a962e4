package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/inet256/go-utp/v2/cmd/utp/internal/fileproto"
	"github.com/inet256/go-utp/v2/utp"
)

// receiver is one run of 'utp recv'.
type receiver struct {
	f                     *transferFlags
	force, toStdout, keep bool
	out                   string
	from                  []string
}

// recvSink is a Sink that also tells what it began.
type recvSink interface {
	fileproto.Sink
	bars() []*progress
	partial() string // where an unfinished file is kept, in words ("" if not)
}

func (r *receiver) run(args []string) error {
	ep, err := r.f.listenEndpoint(args)
	if err != nil {
		return err
	}
	defer ep.Close()
	acc, err := newAcceptor(ep, r.from, turnSender)
	if err != nil {
		return err
	}
	in := catchInterrupts(ep.Close)
	defer in.stop()
	fmt.Fprintln(os.Stderr, "waiting for a file on", ep.local)
	for {
		c, err := acc.next()
		if err != nil {
			if code := in.interrupted(); code != 0 {
				return fail(code, "interrupted while waiting for a sender")
			}
			return ep.acceptError(err)
		}
		if !r.keep {
			acc.turnAwayRest()
		}
		err = r.serve(c, ep, in)
		if !r.keep || in.interrupted() != 0 {
			return err
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "utp:", err)
		}
	}
}

// serve receives what one sender sends.
func (r *receiver) serve(c *utp.Conn, ep *endpoint, in *interrupts) error {
	out := newBars(quiet)
	var sink recvSink = &dirSink{dir: r.out, force: r.force, out: out}
	if r.toStdout {
		sink = &writerSink{w: os.Stdout, out: out}
	}
	got, err := recvSession(c, sink, r.f.idle)
	for _, b := range sink.bars() {
		b.stop()
	}
	// An interrupt that came once every file was verified (while the
	// connection closed) changes nothing.
	if code := in.interrupted(); code != 0 && err != nil {
		return fail(code, "interrupted; the connection was reset%s", sentence(sink.partial()))
	}
	if dead := ep.daemonGone(nil); dead != nil && err != nil {
		var ce *cliError
		errors.As(dead, &ce)
		ce.msg += sentence(sink.partial())
		err = dead
	}
	if err != nil {
		err = recvError(err, sink, r.f.idle)
		if len(got) > 0 {
			var ce *cliError
			errors.As(err, &ce)
			ce.msg += fmt.Sprintf(" (%d file(s) before it were verified and stored)", len(got))
		}
		return err
	}
	for i, g := range got {
		newSummary(g.Header, g.Offset, g.Bytes, g.Sum, sink.bars()[i].took(), c).print(r.f.asJSON)
	}
	return nil
}

// sentence appends s to a message as a clause of its own, if any.
func sentence(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}

// recvError says what stopped a receive.
func recvError(err error, sink recvSink, idle time.Duration) error {
	var ce *cliError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, fileproto.ErrCorrupt):
		name := "the file"
		if b := sink.bars(); len(b) > 0 {
			name = fileproto.Printable(b[len(b)-1].name)
		}
		return fail(exitCorrupt, "%s failed its SHA-256 check; discarded", name)
	}
	return fail(exitFailure, "receiving: %s%s", connReason(err, "sender", idle), sentence(sink.partial()))
}

// turnSender refuses a connection recv will not serve with a refusal
// the sender prints, then closes it.
func turnSender(c *utp.Conn, why string) {
	ref := fileproto.Refuse(fileproto.ReasonBusy, "it is receiving from another sender")
	if why == "denied" {
		ref = fileproto.Refuse(fileproto.ReasonDenied, "it takes files only from its --from addresses")
	}
	fileproto.WriteRefusal(c, ref)
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(answerGrace))
	buf := make([]byte, 4096)
	for { // until the sender, having read the refusal, closes
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	c.Close()
}
