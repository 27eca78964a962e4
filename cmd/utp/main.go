// Command utp moves bytes over uTP streams, between INET256 node addresses
// or UDP addresses: a netcat (listen, dial), a file transfer (send, recv),
// key tools (keygen, addr) and a self-contained demo.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process's exit status.
// Errors are printed as one line (and, with --json, as a JSON object on
// stdout); no stack trace reaches the user.
func run(args []string) int {
	root := newRootCmd()
	args = positionalAddresses(root, args)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	// cobra's own errors (unknown command or flag, wrong argument count)
	// are usage errors, followed by the usage line.
	code, cobraErr := exitUsage, true
	var ce *cliError
	if errors.As(err, &ce) {
		code, cobraErr = ce.code, false
	}
	fmt.Fprintln(os.Stderr, "utp:", err.Error())
	if cobraErr && cmd != nil {
		fmt.Fprintf(os.Stderr, "usage: %s (see '%s --help')\n", cmd.UseLine(), cmd.CommandPath())
	}
	if wantsJSON(args) {
		json.NewEncoder(os.Stdout).Encode(jsonError{Error: err.Error(), Code: code, Status: exitName(code)})
	}
	return code
}

// quiet is -q: no progress bar, even on a terminal. It is the one
// setting every command reads (through newBars), so it lives here.
var quiet bool

// jsonError is what --json prints on stdout when a command fails.
type jsonError struct {
	Error  string `json:"error"`
	Code   int    `json:"exit_code"`
	Status string `json:"status"`
}

// wantsJSON reports whether the command line asks for --json output.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}

// version is the module version the binary was built from, or "devel"
// with the VCS revision when built from a checkout.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return strings.TrimSpace(v + " " + info.GoVersion)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "utp",
		Short: "Reliable, polite streams over uTP, between INET256 nodes or UDP addresses",
		Long: `utp moves bytes over uTP (BEP 29), the BitTorrent transport whose LEDBAT
congestion control yields to other traffic: a netcat (listen, dial), a file
transfer that verifies, resumes and never leaves a half-written file (send,
recv), key tools (keygen, addr) and a self-contained demo.

Addresses are INET256 node addresses (base64, as 'inet256 addr' prints),
reached through the daemon at $INET256_API or --api, or UDP addresses
written udp://host:port (or host:port with --udp). An address that begins
with '-' needs no '--' in front of it.`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	root.AddCommand(newListenCmd(), newDialCmd(), newSendCmd(), newRecvCmd(),
		newKeygenCmd(), newAddrCmd(), newDemoCmd())
	return root
}
