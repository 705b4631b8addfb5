package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/socketio"
)

// handle decodes and applies one message from the channel. It never
// panics: whatever a message contains, the listener goes on.
func (m *Manager) handle(data []byte) {
	m.st.received.Add(1)
	msg, err := m.codec.Decode(data)
	if err != nil {
		m.refuse(data, err)
		return
	}
	if msg.NonFinite > 0 {
		m.st.nonFinite.Add(1)
		m.noteLog.Log(slog.LevelWarn, "cluster: NaN or infinite numbers in a message delivered as null",
			"method", msg.Method, "event", msg.Event, "values", msg.NonFinite)
	}
	defer func() {
		if r := recover(); r != nil {
			m.st.applyErrors.Add(1)
			m.log.Error("cluster: applying a message panicked", "method", msg.Method, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if msg.Method == codec.MethodCallback {
		// A callback's host_id is the host it is addressed to.
		if msg.HostID == m.hostID && m.pending.resolve(msg.CallbackID, msg.Arguments()) {
			m.st.applied.Add(1)
			return
		}
		m.st.ignored.Add(1)
		if msg.HostID == m.hostID {
			m.warnLog.Log(slog.LevelDebug, "cluster: callback for this host with no pending acknowledgement (late or unknown)",
				"sid", msg.SID, "id", msg.CallbackID)
		}
		return
	}
	if msg.HostID == m.hostID {
		m.st.own.Add(1)
		return
	}
	if msg.Seq != 0 {
		switch m.seqs.check(msg.HostID, msg.Seq) {
		case seqDuplicate:
			m.st.seqDuplicates.Add(1)
			m.noteLog.Log(slog.LevelInfo, "cluster: message received twice dropped", "method", msg.Method,
				"event", msg.Event, "host", msg.HostID, "seq", msg.Seq)
			return
		case seqTooOld:
			m.st.seqUnchecked.Add(1)
		}
	}
	ns, ok := m.srv.Lookup(nsOrRoot(msg.Namespace))
	if !ok {
		m.st.notServed.Add(1)
		m.warnLog.Log(slog.LevelDebug, "cluster: message for a namespace not served here", "method", msg.Method, "nsp", msg.Namespace)
		return
	}
	switch msg.Method {
	case codec.MethodEmit:
		err = m.applyEmit(ns, msg)
	case codec.MethodEnterRoom, codec.MethodLeaveRoom, codec.MethodDisconnect:
		s, here := ns.Socket(msg.SID)
		if !here {
			m.st.notHere.Add(1)
			break
		}
		switch msg.Method {
		case codec.MethodEnterRoom:
			s.Join(msg.Room())
		case codec.MethodLeaveRoom:
			s.Leave(msg.Room())
		default:
			s.Disconnect()
		}
	case codec.MethodCloseRoom:
		ns.CloseRoom(msg.Room())
	default: // the codec refuses unknown methods; kept for a custom Codec
		m.st.unknown.Add(1)
		m.badLog.Log(slog.LevelWarn, "cluster: message with an unknown method skipped", "method", msg.Method)
		return
	}
	if err != nil {
		m.st.applyErrors.Add(1)
		m.warnLog.Log(slog.LevelWarn, "cluster: message refused by the server", "method", msg.Method, "event", msg.Event, "error", err)
		return
	}
	m.st.applied.Add(1)
}

// refuse counts and logs a message that does not decode.
func (m *Manager) refuse(data []byte, err error) {
	kind := "malformed"
	switch {
	case errors.Is(err, codec.ErrUnsafe):
		m.st.unsafe.Add(1)
		kind = "unsafe"
	case errors.Is(err, codec.ErrUnknownMethod):
		m.st.unknown.Add(1)
		kind = "unknown method"
	default:
		m.st.malformed.Add(1)
	}
	m.badLog.Log(slog.LevelWarn, "cluster: bad message skipped", "kind", kind, "bytes", len(data), "error", err)
}

func nsOrRoot(ns string) string {
	if ns == "" {
		return "/"
	}
	return ns
}

func (m *Manager) applyEmit(ns *socketio.Namespace, msg *codec.Message) error {
	b := ns.Local()
	if msg.Rooms != nil {
		if len(msg.Rooms) == 0 {
			return nil // an empty room list addresses nobody
		}
		b = b.To(msg.Rooms...)
	}
	if len(msg.Skip) > 0 {
		b = b.Except(msg.Skip...)
	}
	args := msg.Arguments()
	if msg.Callback == nil {
		return b.Emit(msg.Event, args...)
	}
	// python's cross-host ack: each local client's answer goes back to the
	// asking host as a "callback" message.
	for _, s := range b.Sockets() {
		select {
		case m.acks <- struct{}{}:
		default:
			m.st.acksDropped.Add(1)
			m.warnLog.Log(slog.LevelWarn, "cluster: too many acknowledgements pending; emit sent without one", "event", msg.Event)
			if err := s.Emit(msg.Event, args...); err != nil && !errors.Is(err, socketio.ErrDisconnected) {
				return err
			}
			continue
		}
		m.wg.Add(1)
		go m.awaitAck(s, msg.HostID, *msg.Callback, msg.Event, args)
	}
	return nil
}

// awaitAck emits to s with an acknowledgement and publishes the answer to
// the host that asked.
func (m *Manager) awaitAck(s *socketio.Socket, host string, cb codec.Callback, event string, args []any) {
	defer m.wg.Done()
	defer func() { <-m.acks }()
	ctx, cancel := context.WithTimeout(m.ctx, m.ackTimeout)
	defer cancel()
	ack, err := s.EmitWithAck(ctx, event, args...)
	if err != nil {
		m.st.ackFailures.Add(1)
		m.warnLog.Log(slog.LevelDebug, "cluster: no acknowledgement for another host", "sid", s.ID(), "event", event, "error", err)
		return
	}
	vals, err := ackValues(ack)
	if err == nil {
		err = m.publishDirect(m.ctx, &codec.Message{
			Method: codec.MethodCallback, HostID: host, SID: cb.SID,
			Namespace: nsOrRoot(cb.Namespace), CallbackID: cb.ID, Data: codec.Args(vals),
		})
	}
	if err != nil {
		m.st.ackFailures.Add(1)
		m.warnLog.Log(slog.LevelWarn, "cluster: acknowledgement not returned to its host", "host", host, "event", event, "error", err)
		return
	}
	m.st.acksReturned.Add(1)
}

// ackValues turns a client's acknowledgement into codec values.
func ackValues(a *socketio.Args) ([]any, error) {
	out := make([]any, a.Len())
	for i := range out {
		if b, ok := a.Bytes(i); ok {
			out[i] = b
			continue
		}
		d := json.NewDecoder(bytes.NewReader(a.Raw(i)))
		d.UseNumber()
		if err := d.Decode(&out[i]); err != nil {
			return nil, fmt.Errorf("cluster: acknowledgement argument %d: %w", i, err)
		}
	}
	return out, nil
}

// publishDirect encodes m and publishes it at once (callbacks are rare and
// already off the hot path: no queue).
// Bounded by ctx and by 5 s.
func (m *Manager) publishDirect(ctx context.Context, msg *codec.Message) error {
	if m.pub == nil {
		return fmt.Errorf("%w: no publisher configured", ErrNoBroker)
	}
	buf, err := m.codec.Encode(nil, msg)
	if err != nil {
		return fmt.Errorf("cluster: %s: %w", msg.Method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := m.pub.Publish(ctx, m.channel, [][]byte{buf}); err != nil {
		return fmt.Errorf("cluster: publish %s: %w", msg.Method, err)
	}
	return nil
}
