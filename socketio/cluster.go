package socketio

import (
	"strings"
)

// Cluster is told about every broadcast that originated on this server,
// after local delivery, so that it can pass it to the other nodes of a
// cluster (package cluster implements it over a broker).
//
// Publish is called once per broadcast made with Namespace.Emit, To or
// Except, Socket.To or Broadcast.Emit (not for Local broadcasts, and never
// for Socket.Emit, which addresses one local client). It is called in the
// emitting goroutine and must not block. The Outbound's slices belong to
// the caller once Publish returns: Publish must encode or copy what it
// keeps.
type Cluster interface {
	Publish(o Outbound)
}

// Outbound is a broadcast handed to the Cluster.
type Outbound struct {
	Namespace string   // the namespace's name, e.g. "/"
	Rooms     []string // the rooms addressed; nil or empty: the whole namespace
	Except    []string // rooms (a socket id is a room) whose sockets are left out
	Event     string
	Args      []any
}

type clusterRef struct{ c Cluster }

// SetCluster makes the server hand every non-local broadcast to c after
// delivering it locally; nil removes the cluster. Set it once, before
// serving: broadcasts made while it changes may or may not be handed over.
// Without a cluster a broadcast costs one atomic load more.
func (s *Server) SetCluster(c Cluster) {
	if c == nil {
		s.cluster.Store(nil)
		return
	}
	s.cluster.Store(&clusterRef{c: c})
}

// Cluster returns the cluster set with SetCluster, or nil.
func (s *Server) Cluster() Cluster {
	if r := s.cluster.Load(); r != nil {
		return r.c
	}
	return nil
}

// Lookup returns the namespace name (a missing leading slash is added) if
// it was created with Of, without creating it.
func (s *Server) Lookup(name string) (*Namespace, bool) {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	n := s.lookup(name)
	return n, n != nil
}

// Local returns a broadcast to this server's sockets only: it is not handed
// to the Cluster. A cluster manager uses it to apply what other nodes sent.
func (b *Broadcast) Local() *Broadcast {
	return &Broadcast{n: b.n, rooms: b.rooms, except: b.except, local: true}
}

// Local returns a broadcast to every socket of this namespace on this
// server only (see Broadcast.Local).
func (n *Namespace) Local() *Broadcast { return &Broadcast{n: n, local: true} }

// Sockets returns this server's sockets the broadcast addresses (each
// once), in no particular order. A cluster manager uses it for an emit
// that asks each client for an acknowledgement.
func (b *Broadcast) Sockets() []*Socket {
	return b.n.ad.collect(b.rooms, b.except)
}

// Socket returns the connected socket of this namespace with id, if it is
// on this server.
func (n *Namespace) Socket(id string) (*Socket, bool) {
	n.ad.mu.RLock()
	defer n.ad.mu.RUnlock()
	for s := range n.ad.rooms[id] {
		if s.id == id {
			return s, true
		}
	}
	return nil, false
}

// CloseRoom makes every socket of this server leave room. It acts locally
// only; a cluster manager publishes close_room for the other nodes.
func (n *Namespace) CloseRoom(room string) {
	a := n.ad
	a.mu.Lock()
	defer a.mu.Unlock()
	for s := range a.rooms[room] {
		a.leaveLocked(s, room)
	}
}

// collect returns the sockets broadcast would deliver to.
func (a *adapter) collect(rooms, except []string) []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []*Socket
	a.eachLocked(rooms, except, func(s *Socket) { out = append(out, s) })
	return out
}
