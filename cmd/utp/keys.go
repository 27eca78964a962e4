package main

import (
	"crypto/rand"
	"fmt"
	"os"

	"github.com/inet256/inet256/pkg/inet256"
	"github.com/inet256/inet256/pkg/serde"
	"github.com/spf13/cobra"
)

func newKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen [--out FILE]",
		Short: "Write a new INET256 private key (PEM, as 'inet256 keygen' writes)",
		Long: `keygen writes a new INET256 private key, in the PEM form the inet256
tools read, to --out FILE (created with mode 0600; an existing file is
not replaced) or to standard output. A key written to a file through a
shell redirect gets mode 0600 too; one written to a terminal is warned
about.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, priv, err := inet256.GenerateKey(rand.Reader)
			if err != nil {
				return fail(exitFailure, "generating a key: %v", err)
			}
			pem, err := serde.MarshalPrivateKeyPEM(priv)
			if err != nil {
				return fail(exitFailure, "encoding the key: %v", err)
			}
			if out != "" {
				return writeKeyFile(out, pem)
			}
			guardKeyOutput(os.Stdout)
			if _, err := os.Stdout.Write(pem); err != nil {
				return fail(exitFailure, "writing the key: %v", firstLine(err))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the key to this new file, mode 0600")
	return cmd
}

// writeKeyFile creates path with mode 0600 and writes the key there.
func writeKeyFile(path string, pem []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(exitFailure, "cannot create %s: %s", path, firstLine(err))
	}
	_, err = f.Write(pem)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fail(exitFailure, "writing %s: %s", path, firstLine(err))
	}
	return nil
}

// guardKeyOutput protects a private key about to go to f (stdout): a
// regular file (a shell redirect, created with the umask's mode, often
// world-readable) is made 0600; a terminal gets a warning, as the key
// may end up in its scrollback or a recording.
func guardKeyOutput(f *os.File) {
	info, err := f.Stat()
	switch {
	case err != nil:
	case info.Mode().IsRegular():
		if info.Mode().Perm()&0o077 != 0 {
			if err := f.Chmod(0o600); err != nil {
				fmt.Fprintf(os.Stderr, "utp: warning: the key's file is readable by others (mode %v) and chmod failed: %v\n", info.Mode().Perm(), err)
			} else {
				fmt.Fprintln(os.Stderr, "utp: the key's file was readable by others; its mode is now 0600")
			}
		}
	case isTerminal(f):
		fmt.Fprintln(os.Stderr, "utp: warning: writing a private key to a terminal; 'utp keygen --out FILE' writes it to a file with mode 0600")
	}
}

func newAddrCmd() *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "addr --key FILE",
		Short: "Print the INET256 node address of a private key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return fail(exitUsage, "addr needs --key FILE")
			}
			priv, err := loadKey(keyFile)
			if err != nil {
				return err
			}
			fmt.Println(inet256.NewAddr(priv.Public()).Base64String())
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "PEM private key file")
	return cmd
}

// loadKey reads a PEM private key as the inet256 tools write it.
func loadKey(path string) (inet256.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(exitBadKey, "cannot read key file %s: %v", path, err)
	}
	priv, err := serde.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fail(exitBadKey, "%s is not an INET256 private key: %v", path, err)
	}
	return priv, nil
}

// keyOrFresh loads the key at path, or makes a fresh one if path is "".
func keyOrFresh(path string) (inet256.PrivateKey, error) {
	if path != "" {
		return loadKey(path)
	}
	_, priv, err := inet256.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fail(exitFailure, "generating a key: %v", err)
	}
	return priv, nil
}
