// Command utp moves bytes over uTP streams, between INET256 node addresses
// or UDP addresses: a netcat (listen, dial), a file transfer (send, recv),
// key tools (keygen, addr) and a self-contained demo.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process's exit status.
// Errors are printed as one line; no stack trace reaches the user.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if errors.As(err, &ce) {
		fmt.Fprintln(os.Stderr, "utp:", ce.Error())
		return ce.code
	}
	// cobra's own errors: unknown command, bad flag, wrong argument count.
	fmt.Fprintln(os.Stderr, "utp:", err)
	return exitUsage
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "utp",
		Short: "Reliable, polite streams over uTP, between INET256 nodes or UDP addresses",
		Long: `utp moves bytes over uTP (BEP 29), the BitTorrent transport whose LEDBAT
congestion control yields to other traffic.

Addresses are INET256 node addresses (base64, as 'inet256 addr' prints),
reached through the daemon at $INET256_API or --api, or UDP addresses
written udp://host:port (or host:port with --udp).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newListenCmd(), newDialCmd(), newSendCmd(), newRecvCmd(),
		newKeygenCmd(), newAddrCmd(), newDemoCmd())
	return root
}
