package proto

import "errors"

// EventKind says what changed in a Conn.
type EventKind uint8

// Event kinds, returned by NextEvent in this order of priority.
const (
	EventNone      EventKind = iota
	EventConnected           // the handshake completed
	EventReadable            // data or end of stream can be read
	EventWritable            // send buffer space was freed
	EventClosed              // the connection ended; Err says why (nil: clean close)
	// EventProven: an acceptor's dialer proved its address (Confirmed
	// turned true). Reported after EventConnected and before the others;
	// never for a dialer.
	EventProven
)

var eventNames = [...]string{"None", "Connected", "Readable", "Writable", "Closed", "Proven"}

// eventOrder is the order in which pending events are reported.
var eventOrder = [...]EventKind{EventConnected, EventProven, EventReadable, EventWritable, EventClosed}

// String returns the kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "EventKind(?)"
}

// Event is one notification from a Conn to its IO layer.
type Event struct {
	Kind EventKind
	Err  error // set with EventClosed when the connection failed
}

// timeoutError is returned for connections that gave up; it has the
// Timeout method that net.Error callers look for.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return false }

// Errors reported by a Conn.
var (
	// ErrTimedOut: the peer stopped answering (retransmission limit,
	// SYN retries or idle timeout).
	ErrTimedOut error = &timeoutError{"utp: connection timed out"}
	// ErrConnReset: the peer sent RESET on an established connection.
	ErrConnReset = errors.New("utp: connection reset by peer")
	// ErrConnRefused: the peer answered our SYN with RESET.
	ErrConnRefused = errors.New("utp: connection refused")
	// ErrLocalReset: this side aborted the connection with Reset.
	ErrLocalReset = errors.New("utp: connection aborted")
	// ErrWriteClosed: Write after CloseWrite.
	ErrWriteClosed = errors.New("utp: write after close")
)

// pendingEvents is a small set of not-yet-reported events.
type pendingEvents struct {
	flags    uint8 // bit k: EventKind k pending
	closeErr error
}

func (p *pendingEvents) set(k EventKind) { p.flags |= 1 << k }

func (p *pendingEvents) next() Event {
	for _, k := range eventOrder {
		if p.flags&(1<<k) != 0 {
			p.flags &^= 1 << k
			if k == EventClosed {
				return Event{Kind: k, Err: p.closeErr}
			}
			return Event{Kind: k}
		}
	}
	return Event{}
}
