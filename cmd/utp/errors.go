package main

import "fmt"

// Exit statuses, one per kind of failure, so scripts can tell them apart.
const (
	exitOK          = 0
	exitFailure     = 1 // the transfer or connection failed
	exitUsage       = 2 // bad flags or arguments
	exitBadAddress  = 3 // an address that cannot be parsed
	exitBadKey      = 4 // a key file that cannot be read or parsed
	exitNoDaemon    = 5 // the INET256 daemon is not reachable
	exitUnreachable = 6 // the peer did not answer
	exitFileExists  = 7 // recv would overwrite a file
	exitDiskFull    = 8 // no space left while writing
	exitCorrupt     = 9 // the received data failed its hash check
)

// cliError is an error with the exit status it maps to.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &cliError{code: code, msg: fmt.Sprintf(format, args...)}
}
