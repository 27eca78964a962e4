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
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new INET256 private key (PEM, as 'inet256 keygen' writes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, priv, err := inet256.GenerateKey(rand.Reader)
			if err != nil {
				return fail(exitFailure, "generating a key: %v", err)
			}
			pem, err := serde.MarshalPrivateKeyPEM(priv)
			if err != nil {
				return fail(exitFailure, "encoding the key: %v", err)
			}
			_, err = os.Stdout.Write(pem)
			return err
		},
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
