package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
)

var listenCommand = &command{
	name:     "listen",
	summary:  "print every message published on a channel, decoded, one JSON line each",
	needsEnv: true,
	details: `
Each line is the message's meaning: {"method", "event", "args", "namespace",
"rooms", "except_sids", "host_id"} for an emit, sid/room for room
operations; bytes appear as {"$bytes": "<base64>"}. A message that cannot be
decoded is reported on stderr with the reason, and listening continues.
Ctrl-C or SIGTERM stops; a summary goes to stderr.

Example:
  sockgate listen --save captured/    # later: sockgate decode captured/000001.bin`,
	setup: func(fs *flag.FlagSet, env config.Config) func(context.Context, *cli, []string) error {
		o := listenOptions{}
		o.broker.define(fs, env)
		fs.StringVar(&o.channel, "channel", channelOr(env.Channel), "pub/sub `channel` (env SOCKET_REDIS_CHANNEL)")
		fs.BoolVar(&o.raw, "raw", false, `add the payload as received to each line: "raw" is a string, or {"$bytes": "<base64>"} when not UTF-8 (pickle)`)
		fs.StringVar(&o.saveDir, "save", "", "also write each payload to `DIR`/NNNNNN.bin, for sockgate decode")
		fs.IntVar(&o.count, "count", 0, "stop after `N` messages (0: until interrupted)")
		return func(ctx context.Context, c *cli, _ []string) error { return o.run(ctx, c) }
	},
}

type listenOptions struct {
	broker  brokerFlags
	channel string
	raw     bool
	saveDir string
	count   int
}

func (o *listenOptions) run(ctx context.Context, c *cli) error {
	if o.count < 0 {
		return usagef("--count must not be negative")
	}
	if o.saveDir != "" {
		if err := os.MkdirAll(o.saveDir, 0o755); err != nil {
			return fmt.Errorf("--save: %w", err)
		}
	}
	cfg, err := o.broker.config(c.env, o.channel)
	if err != nil {
		return err
	}
	b, closeBroker, err := dialBroker(ctx, cfg, 5*time.Second, newLogger(c.stderr))
	defer closeBroker()
	if err != nil {
		return err
	}

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	msgs, err := b.Subscriber.Subscribe(sctx, o.channel)
	if err != nil {
		return fmt.Errorf("subscribe to %q on %s: %w", o.channel, b, err)
	}
	fmt.Fprintf(c.stderr, "sockgate: listening on channel %q at %s (Ctrl-C to stop)\n", o.channel, b)

	dec := codec.NewPython(codec.PythonConfig{})
	var n, bad int
	for data := range msgs {
		n++
		if o.saveDir != "" {
			name := filepath.Join(o.saveDir, fmt.Sprintf("%06d.bin", n))
			if err := os.WriteFile(name, data, 0o644); err != nil {
				return fmt.Errorf("--save: %w", err)
			}
		}
		line, err := o.render(dec, data)
		if err != nil {
			bad++
			fmt.Fprintf(c.stderr, "sockgate: listen: message %d (%d bytes) undecodable (%d so far): %v\n", n, len(data), bad, err)
		} else {
			fmt.Fprintf(c.stdout, "%s\n", line)
		}
		if o.count > 0 && n >= o.count {
			stop()
			break
		}
	}
	// Drain what the subscription still holds so its goroutines can exit.
	for range msgs {
	}
	summary := fmt.Sprintf("%d messages, %d undecodable", n, bad)
	if ctx.Err() == nil && (o.count == 0 || n < o.count) {
		return fmt.Errorf("subscription to %q ended (%s)", o.channel, summary)
	}
	fmt.Fprintf(c.stderr, "sockgate: listen: stopped after %s\n", summary)
	return nil
}

// render returns the JSON line for one payload.
func (o *listenOptions) render(dec codec.Codec, data []byte) ([]byte, error) {
	m, err := dec.Decode(data)
	if err != nil {
		return nil, err
	}
	line, err := marshalMeaning(m, false)
	if err != nil {
		return nil, err
	}
	if !o.raw {
		return line, nil
	}
	var raw any = string(data)
	if !utf8.Valid(data) {
		raw = map[string]string{"$bytes": base64.StdEncoding.EncodeToString(data)}
	}
	rawJSON, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("render raw payload: %w", err)
	}
	// The meaning is a JSON object: insert "raw" as its last member.
	if len(line) < 2 || line[len(line)-1] != '}' {
		return nil, errors.New("render raw payload: meaning is not an object")
	}
	out := append(line[:len(line)-1:len(line)-1], `,"raw":`...)
	out = append(out, rawJSON...)
	return append(out, '}'), nil
}
