package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
)

var decodeCommand = &command{
	name:    "decode",
	args:    "[FILE]",
	maxArgs: 1,
	summary: "print the meaning of one captured message (JSON of every dialect, or pickle)",
	details: `
Reads the raw bytes of ONE message from stdin (or FILE) and prints what it
means as indented JSON, in the shape listen prints. Pickle that asks to
import or call anything is refused. Exits 1 with the reason when the input
is not a valid python-socketio message.

Example:
  sockgate listen --save captured/ --count 1
  sockgate decode < captured/000001.bin`,
	setup: func(fs *flag.FlagSet, _ config.Config) func(context.Context, *cli, []string) error {
		return func(_ context.Context, c *cli, args []string) error {
			in := c.stdin
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			// The codec refuses input over its size limit; reading one
			// byte more than that is enough for it to tell.
			data, err := io.ReadAll(io.LimitReader(in, codec.DefaultMaxMessageSize+1))
			if err != nil {
				return fmt.Errorf("read input: %w", err)
			}
			if len(data) == 0 {
				return errors.New("empty input: pipe one captured message into stdin")
			}
			m, err := codec.NewPython(codec.PythonConfig{}).Decode(data)
			if err != nil {
				return err
			}
			out, err := marshalMeaning(m, true)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "%s\n", out)
			return err
		}
	},
}
