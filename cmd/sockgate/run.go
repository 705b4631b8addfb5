package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sockgate/sockgate/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1 // the command could not do its job
	exitUsage   = 2 // bad command line or environment
)

// cli carries a command's standard streams and environment defaults.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            config.Config
}

// command is one subcommand. setup defines its flags on fs, with defaults
// from env, and returns the function that runs it once the flags are
// parsed; fs.Args() then holds the positional arguments.
type command struct {
	name     string // "emit", or "bench emit" for a nested command
	args     string // synopsis after the flags, e.g. "[FILE]"
	summary  string
	maxArgs  int // positional arguments accepted
	details  string
	setup    func(fs *flag.FlagSet, env config.Config) func(ctx context.Context, c *cli, args []string) error
	needsEnv bool // whether the command reads env defaults (a bad environment is then an error)
}

// commands lists the subcommands in the order help shows them.
var commands = []*command{emitCommand, listenCommand, decodeCommand, benchEmitCommand, tokenCommand, versionCommand}

// usageError marks an error as the caller's: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error.
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// run is the whole program: it runs the subcommand named by args and
// returns the process exit code. Errors go to stderr prefixed "sockgate: ".
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return c.help(args[1:])
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		fmt.Fprintf(stderr, "sockgate: %v\nRun 'sockgate help' for usage.\n", err)
		return exitUsage
	}
	if cmd.needsEnv {
		env, err := config.FromEnv()
		if err != nil {
			// One line per bad variable (FromEnv joins them).
			errs := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				errs = joined.Unwrap()
			}
			for _, e := range errs {
				fmt.Fprintf(stderr, "sockgate: %s: environment: %v\n", cmd.name, e)
			}
			return exitUsage
		}
		c.env = env
	}
	fs := newFlagSet(cmd)
	runCmd := cmd.setup(fs, c.env)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, cmd, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "sockgate: %s: %v\n", cmd.name, err)
		commandUsage(stderr, cmd, fs)
		return exitUsage
	}
	if fs.NArg() > cmd.maxArgs {
		fmt.Fprintf(stderr, "sockgate: %s: unexpected argument %q\n", cmd.name, fs.Arg(cmd.maxArgs))
		commandUsage(stderr, cmd, fs)
		return exitUsage
	}
	if err := runCmd(ctx, c, fs.Args()); err != nil {
		fmt.Fprintf(stderr, "sockgate: %s: %v\n", cmd.name, err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "Run 'sockgate help %s' for usage.\n", cmd.name)
			return exitUsage
		}
		return exitRuntime
	}
	return exitOK
}

// lookup finds the command args start with and returns the arguments after
// its name.
func lookup(args []string) (*command, []string, error) {
	for _, cmd := range commands {
		words := strings.Fields(cmd.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == cmd.name {
			return cmd, args[len(words):], nil
		}
	}
	// A group name alone ("bench") or with an unknown sub-command.
	var subs []string
	for _, cmd := range commands {
		if group, sub, ok := strings.Cut(cmd.name, " "); ok && group == args[0] {
			subs = append(subs, sub)
		}
	}
	if len(subs) > 0 {
		if len(args) == 1 {
			return nil, nil, fmt.Errorf("%s: missing sub-command (%s)", args[0], strings.Join(subs, ", "))
		}
		return nil, nil, fmt.Errorf("%s: unknown sub-command %q (want %s)", args[0], args[1], strings.Join(subs, ", "))
	}
	return nil, nil, fmt.Errorf("unknown command %q", args[0])
}

func newFlagSet(cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet("sockgate "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports errors itself, with the prefix
	fs.Usage = func() {}
	return fs
}

// help implements "sockgate help [command]".
func (c *cli) help(args []string) int {
	if len(args) == 0 {
		printUsage(c.stdout)
		return exitOK
	}
	cmd, rest, err := lookup(args)
	if err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("unknown command %q", strings.Join(args, " "))
		}
		fmt.Fprintf(c.stderr, "sockgate: help: %v\n", err)
		return exitUsage
	}
	env, _ := config.FromEnv() // defaults for display; a bad environment shows zero values
	fs := newFlagSet(cmd)
	cmd.setup(fs, env)
	commandUsage(c.stdout, cmd, fs)
	return exitOK
}

// printUsage lists the subcommands.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `sockgate publishes and inspects Socket.IO events in python-socketio's
format, on Redis pub/sub or any other sockgate transport.

Usage:
  sockgate <command> [flags]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "  %-11s %s\n", "help", "show this list, or a command's flags: sockgate help <command>")
	fmt.Fprint(w, `
Environment (flag defaults):
  SOCKET_TRANSPORT      broker transport: redis (pub/sub, default), redis-streams,
                        nats, jetstream or memory (this process only)
  REDIS_URL             Redis to use, e.g. redis://localhost:6379/0
  NATS_URL              NATS to use (default nats://127.0.0.1:4222)
  SOCKET_REDIS_CHANNEL  pub/sub channel (default "socketio")
  SOCKET_DIALECT        python-socketio version of the servers: current, v5.14,
                        legacy or a version like 5.7.2 (default current)
  SOCKET_USER_ROOM      room of a user for emit --user (default "user:{id}")
  SOCKET_QUEUE_SIZE     worker queue capacity for bench emit (default 16384)
  SOCKET_AUTH_SECRET    secret that signs the user tokens of token (>= 32 bytes)
  SOCKET_AUTH_USER_CLAIM  claim of token's user ID (default "sub")
`)
}

// commandUsage prints one command's synopsis, details and flags.
func commandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: sockgate %s [flags]", cmd.name)
	if cmd.args != "" {
		fmt.Fprintf(w, " %s", cmd.args)
	}
	fmt.Fprintf(w, "\n\n%s\n", cmd.summary)
	if cmd.details != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.details))
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}
