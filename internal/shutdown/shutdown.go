// Package shutdown is the close state every transport shares: a channel
// closed once by Close, which the transport's goroutines select on, and a
// count of those goroutines that Close waits for. Calls check Closed to
// return transport.ErrClosed; a goroutine is counted only while the group
// is open, so none starts after Close began waiting.
package shutdown

import "sync"

// Group is the close state of one transport value. Build it with New; its
// methods are safe for concurrent use.
type Group struct {
	mu   sync.Mutex
	done chan struct{}
	wg   sync.WaitGroup
}

// New returns an open Group.
func New() *Group { return &Group{done: make(chan struct{})} }

// Closing returns the channel Close closes.
func (g *Group) Closing() <-chan struct{} { return g.done }

// Closed reports whether Close was called.
func (g *Group) Closed() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// Add counts n goroutines that Close must wait for, each to call Exit
// when it ends. It returns false, counting nothing, once Close was called.
func (g *Group) Add(n int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Closed() {
		return false
	}
	g.wg.Add(n)
	return true
}

// Exit ends one goroutine counted by Add.
func (g *Group) Exit() { g.wg.Done() }

// Close closes the Closing channel and waits until every goroutine
// counted by Add has called Exit. It is idempotent: it returns true for
// the call that closed, false for later ones (which wait as well).
func (g *Group) Close() bool {
	g.mu.Lock()
	first := !g.Closed()
	if first {
		close(g.done)
	}
	g.mu.Unlock()
	g.wg.Wait()
	return first
}
