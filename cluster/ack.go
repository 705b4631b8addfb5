package cluster

import (
	"context"
	"fmt"
	"sync"

	"github.com/sockgate/sockgate/codec"
)

// pendingAcks are this host's emits waiting for a client's answer from
// another node.
type pendingAcks struct {
	mu   sync.Mutex
	next int64
	m    map[int64]chan []any
}

func (p *pendingAcks) add() (int64, chan []any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[int64]chan []any{}
	}
	p.next++
	ch := make(chan []any, 1)
	p.m[p.next] = ch
	return p.next, ch
}

func (p *pendingAcks) remove(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, id)
}

// resolve hands args to the emit waiting for id; false if none waits.
func (p *pendingAcks) resolve(id int64, args []any) bool {
	p.mu.Lock()
	ch := p.m[id]
	delete(p.m, id)
	p.mu.Unlock()
	if ch == nil {
		return false
	}
	ch <- args
	return true
}

// EmitWithAck sends event to the client sid of namespace (""="/") wherever
// in the cluster it is connected, and returns the arguments of the
// client's acknowledgement. A client on this node is asked directly;
// otherwise the emit is published with a callback, python-socketio's way,
// and the node holding the client (a sockgate or python-socketio server)
// publishes the answer back to this host. It fails with ErrAckTimeout
// (wrapping ctx's error) when ctx ends first, which is also what happens
// when sid is connected nowhere; arguments are decoded values (strings,
// json.Number, bool, nil, map[string]any, []any, []byte).
func (m *Manager) EmitWithAck(ctx context.Context, namespace, sid, event string, args ...any) ([]any, error) {
	if sid == "" || event == "" {
		return nil, fmt.Errorf("%w: empty sid or event", ErrInvalidArgument)
	}
	if m.closed.Load() {
		return nil, ErrClosed
	}
	namespace = nsOrRoot(namespace)
	if ns, ok := m.srv.Lookup(namespace); ok {
		if s, ok := ns.Socket(sid); ok {
			a, err := s.EmitWithAck(ctx, event, args...)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrAckTimeout, err)
			}
			return ackValues(a)
		}
	}
	id, ch := m.pending.add()
	defer m.pending.remove(id)
	err := m.publishDirect(ctx, &codec.Message{
		Method: codec.MethodEmit, Event: event, Data: dataOf(args), Namespace: namespace,
		Rooms: []string{sid}, Callback: &codec.Callback{SID: sid, Namespace: namespace, ID: id},
		HostID: m.hostID,
	})
	if err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %q to %s: %w", ErrAckTimeout, event, sid, context.Cause(ctx))
	case <-m.ctx.Done():
		return nil, ErrClosed
	}
}
