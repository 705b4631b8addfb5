package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/di"
	"github.com/sockgate/sockgate/gateway"
)

var emitCommand = &command{
	name:     "emit",
	summary:  "publish one event and wait until the broker confirmed it",
	needsEnv: true,
	details: `
Exactly one of --room (repeatable), --user or --broadcast addresses the
event. --data is its one argument, --args a JSON array of several
arguments; with neither the event has no argument. Numbers keep their exact
digits; {"$bytes": "<base64>"} stands for binary data (current and v5.14
dialects). The command exits 0 once the broker confirmed the publish, 1
when it could not be published within --timeout. --transport (env
SOCKET_TRANSPORT) chooses the broker: redis (pub/sub, the default),
redis-streams, nats, jetstream, or memory (this process only).

Example:
  sockgate emit --user 42 --event progress --data '{"job":"sheet-sync","pct":40}'
  SOCKET_TRANSPORT=nats sockgate emit --room team:7 --event hello`,
	setup: func(fs *flag.FlagSet, env config.Config) func(context.Context, *cli, []string) error {
		o := emitOptions{rooms: listFlag{}, except: listFlag{comma: true}}
		o.broker.define(fs, env)
		fs.StringVar(&o.channel, "channel", channelOr(env.Channel), "pub/sub `channel` (env SOCKET_REDIS_CHANNEL)")
		fs.StringVar(&o.dialect, "dialect", env.Dialect.String(), "`dialect` of the servers: current, v5.14, legacy or a python-socketio version (env SOCKET_DIALECT)")
		fs.Var(&o.rooms, "room", "send to `room` (repeatable: a client in several rooms gets the event once)")
		fs.StringVar(&o.user, "user", "", "send to every connection of user `ID` (its user room)")
		fs.BoolVar(&o.broadcast, "broadcast", false, "send to every client of the namespace")
		fs.StringVar(&o.namespace, "namespace", "/", "Socket.IO `namespace`")
		fs.Var(&o.except, "except", "comma-separated `SIDs` that must not receive the event")
		fs.StringVar(&o.event, "event", "", "event `name` (required)")
		fs.StringVar(&o.data, "data", "", "the event's one argument, as `JSON`")
		fs.StringVar(&o.args, "args", "", "the event's arguments, as a `JSON array`")
		fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "give up when the broker has not confirmed the publish after this `duration`")
		return func(ctx context.Context, c *cli, _ []string) error { return o.run(ctx, c) }
	},
}

// channelOr returns ch, or python-socketio's default channel when empty.
func channelOr(ch string) string {
	if ch == "" {
		return "socketio"
	}
	return ch
}

type emitOptions struct {
	broker            brokerFlags
	channel, dialect  string
	rooms             listFlag
	user              string
	broadcast         bool
	namespace         string
	except            listFlag
	event, data, args string
	timeout           time.Duration
}

func (o *emitOptions) run(ctx context.Context, c *cli) error {
	// Everything the caller can get wrong is checked before connecting.
	targets := 0
	for _, set := range []bool{len(o.rooms.values) > 0, o.user != "", o.broadcast} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return usagef("give exactly one of --room, --user or --broadcast")
	}
	if o.event == "" {
		return usagef("--event is required")
	}
	if o.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	d, err := codec.ParseDialect(o.dialect)
	if err != nil {
		return usageError{fmt.Errorf("--dialect: %w", err)}
	}
	var data any
	switch {
	case o.data != "" && o.args != "":
		return usagef("give --data (one argument) or --args (several), not both")
	case o.data != "":
		if data, err = parseJSON(o.data); err != nil {
			return usageError{fmt.Errorf("--data: %w", err)}
		}
	case o.args != "":
		v, err := parseJSON(o.args)
		if err != nil {
			return usageError{fmt.Errorf("--args: %w", err)}
		}
		list, ok := v.([]any)
		if !ok {
			return usagef("--args: want a JSON array of arguments, got %s", strings.TrimSpace(o.args))
		}
		data = gateway.Args(list)
	}

	cfg, err := o.broker.config(c.env, o.channel)
	if err != nil {
		return err
	}
	cfg.Dialect = d
	log := newLogger(c.stderr)
	b, closeBroker, err := dialBroker(ctx, cfg, o.timeout, log)
	defer closeBroker()
	if err != nil {
		return err
	}
	wc := di.WorkerConfig(cfg, b, log)
	wc.PublishTimeout = o.timeout
	gw, err := gateway.NewWorker(wc)
	if err != nil {
		return err
	}
	defer func() {
		// Flush below settled the message or gave up; nothing left to wait for.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = gw.Close(cctx)
	}()

	opts := []gateway.Option{gateway.WithNamespace(o.namespace)}
	if len(o.except.values) > 0 {
		opts = append(opts, gateway.Except(o.except.values...))
	}
	var to string
	switch {
	case o.broadcast:
		to = "everyone in " + o.namespace
		err = gw.Broadcast(ctx, o.event, data, opts...)
	case o.user != "":
		to = cfg.UserRoomFor(o.user)
		err = gw.EmitToUser(ctx, o.user, o.event, data, opts...)
	default:
		rooms := o.rooms.values
		to = strings.Join(rooms, ", ")
		if len(rooms) > 1 {
			opts = append(opts, gateway.ToRooms(rooms[1:]...))
		}
		err = gw.EmitToRoom(ctx, rooms[0], o.event, data, opts...)
	}
	if err != nil {
		return err
	}

	fctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	flushErr := gw.Flush(fctx)
	st := gw.Stats()
	if st.Confirmed() != 1 {
		reason := "not confirmed"
		switch {
		case ctx.Err() != nil:
			reason = "interrupted"
		case flushErr != nil:
			reason = fmt.Sprintf("not confirmed within %s", o.timeout)
		case st.Dropped > 0:
			reason = "dropped"
		}
		return fmt.Errorf("event %q %s by %s (failed publish attempts: %d)", o.event, reason, b, st.Failed)
	}
	fmt.Fprintf(c.stdout, "published %q to %s on channel %q (dialect %s, %s)\n", o.event, to, o.channel, d, b)
	return nil
}

// parseJSON decodes exactly one JSON value, keeping numbers as json.Number
// (their exact digits) and turning {"$bytes": "<base64>"} into []byte.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty JSON")
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: more than one value")
	}
	return withBytes(v)
}

// withBytes replaces every {"$bytes": "<base64>"} object in v with the bytes
// it stands for.
func withBytes(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if b, ok := v["$bytes"]; ok && len(v) == 1 {
			s, ok := b.(string)
			if !ok {
				return nil, errors.New(`"$bytes" wants a base64 string`)
			}
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf(`"$bytes": %w`, err)
			}
			return raw, nil
		}
		for k, e := range v {
			e, err := withBytes(e)
			if err != nil {
				return nil, err
			}
			v[k] = e
		}
		return v, nil
	case []any:
		for i, e := range v {
			e, err := withBytes(e)
			if err != nil {
				return nil, err
			}
			v[i] = e
		}
		return v, nil
	default:
		return v, nil
	}
}
