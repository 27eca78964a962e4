package main

import "fmt"

// Exit statuses, one per kind of failure, so scripts can tell them apart.
const (
	exitOK          = 0
	exitFailure     = 1   // the transfer or connection failed
	exitUsage       = 2   // bad flags or arguments
	exitBadAddress  = 3   // an address that cannot be parsed
	exitBadKey      = 4   // a key file that cannot be read or parsed
	exitNoDaemon    = 5   // the INET256 daemon is not reachable
	exitUnreachable = 6   // the peer did not answer
	exitFileExists  = 7   // recv would overwrite a file
	exitDiskFull    = 8   // no space left while writing
	exitCorrupt     = 9   // the received data failed its hash check
	exitInterrupt   = 130 // 128 + SIGINT, as shells report it
	exitTerminated  = 143 // 128 + SIGTERM, as shells report it
)

// exitName names an exit status for --json's error object.
func exitName(code int) string {
	switch code {
	case exitUsage:
		return "usage"
	case exitBadAddress:
		return "bad-address"
	case exitBadKey:
		return "bad-key"
	case exitNoDaemon:
		return "no-daemon"
	case exitUnreachable:
		return "unreachable"
	case exitFileExists:
		return "file-exists"
	case exitDiskFull:
		return "disk-full"
	case exitCorrupt:
		return "corrupt"
	case exitInterrupt, exitTerminated:
		return "interrupted"
	}
	return "failed"
}

// cliError is an error with the exit status it maps to.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &cliError{code: code, msg: fmt.Sprintf(format, args...)}
}
