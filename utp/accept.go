package utp

// Accepting: Accept takes connections whose handshake handshake.go completed.

import (
	"net"
)

// Accept waits for and returns the next connection. It implements
// net.Listener.
func (s *Socket) Accept() (net.Conn, error) {
	c, err := s.AcceptUTP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptUTP is Accept returning the concrete type.
func (s *Socket) AcceptUTP() (*Conn, error) {
	for {
		s.mu.Lock()
		if s.drain.on && !s.closed {
			s.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: "utp", Addr: s.LocalAddr(), Err: ErrShutdown}
		}
		if n := len(s.backlog); n > 0 && !s.closed {
			c := s.backlog[0]
			s.backlog[0] = nil
			s.backlog = s.backlog[1:]
			c.accepted = true
			s.mu.Unlock()
			if n > 1 {
				signal(s.acceptSig) // for the next Accept
			}
			return c, nil
		}
		s.mu.Unlock()
		s.awaitAccept()
		select {
		case <-s.acceptSig:
		case <-s.done:
			return nil, &net.OpError{Op: "accept", Net: "utp", Addr: s.LocalAddr(), Err: s.closedErr()}
		}
	}
}
