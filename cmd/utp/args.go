package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// INET256 node addresses are base64url, so about one in 64 begins with
// '-' (and one in 4096 with "-h" or "--"): a flag parser would take them
// for flags. Node addresses are 43 characters, longer than any flag this
// command has with its value, so an argument that parses as a node
// address is one, wherever it stands. positionalAddresses moves such
// arguments behind a "--", keeping the order of the positional arguments,
// so that no user ever needs to type the "--" themselves.

// positionalAddresses returns args rewritten so that cobra reads every
// node address that begins with '-' as a positional argument. Arguments
// that are flag values (--from ADDR) stay where they are: pflag takes the
// word after a flag that needs a value whatever its first character.
// Without such an address, args is returned as it is.
func positionalAddresses(root *cobra.Command, args []string) []string {
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if isDashAddress(args[i]) {
			return args // an address before any command: let cobra complain
		}
		i++
	}
	if i == len(args) {
		return args
	}
	cmd, _, err := root.Find(args[i : i+1])
	if err != nil || cmd == root {
		return args
	}
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return root.PersistentFlags().Lookup(name)
	}
	short := func(c string) *pflag.Flag {
		if f := cmd.Flags().ShorthandLookup(c); f != nil {
			return f
		}
		return root.PersistentFlags().ShorthandLookup(c)
	}
	var flags, positional []string
	moved := false
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			positional = append(positional, rest[j+1:]...)
			j = len(rest)
		case isDashAddress(a):
			positional = append(positional, a)
			moved = true
		case strings.HasPrefix(a, "--"):
			flags = append(flags, a)
			name, _, hasValue := strings.Cut(a[2:], "=")
			if f := lookup(name); f != nil && !hasValue && f.NoOptDefVal == "" && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if takesNext(a[1:], short) && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		default:
			positional = append(positional, a)
		}
	}
	if !moved {
		return args
	}
	out := append([]string{}, args[:i+1]...)
	out = append(out, flags...)
	out = append(out, "--")
	return append(out, positional...)
}

// takesNext reports whether a group of shorthand flags ("-qk") ends with
// one that takes the next argument as its value, as pflag reads it: a
// flag that needs a value takes the rest of the group, or, when it is
// last, the next argument.
func takesNext(group string, short func(string) *pflag.Flag) bool {
	for k := 0; k < len(group); k++ {
		f := short(group[k : k+1])
		if f == nil {
			return false // pflag will report the unknown flag
		}
		if f.NoOptDefVal == "" {
			return k == len(group)-1
		}
	}
	return false
}

// isDashAddress reports whether a is a node address that begins with '-'.
func isDashAddress(a string) bool {
	a = strings.TrimSpace(a)
	if !strings.HasPrefix(a, "-") {
		return false
	}
	_, err := inet256Addr(a)
	return err == nil
}
