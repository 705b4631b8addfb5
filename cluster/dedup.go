package cluster

import (
	"container/list"
	"sync"
)

// The duplicate filter's bounds: per sending host, the last seqWindow
// numbers (4096 bits, 512 bytes), for the seqHosts hosts heard from most
// recently (0.5 MiB in all).
const (
	seqWindow = 4096
	seqHosts  = 1024
)

// seqOutcome is what seqFilter.check makes of a (host, seq).
type seqOutcome int

const (
	seqNew       seqOutcome = iota // not seen: apply it
	seqDuplicate                   // applied already: drop it
	seqTooOld                      // older than the window: apply it, unchecked
)

// seqFilter drops the messages a host sent twice. gateway.Worker numbers
// the messages of a host (codec.Message.Seq) from a counter, and
// concurrent emits on one Worker may reach the broker a little out of
// order, so each host has a sliding window of the seqWindow numbers up to
// the highest seen, one bit each. A number above the window moves it up; a
// number below it cannot be checked and is applied (a duplicate that late
// is applied twice: at-least-once, never a loss). Hosts beyond seqHosts
// are forgotten, least recently heard first.
//
// It is safe for concurrent use.
type seqFilter struct {
	mu    sync.Mutex
	hosts map[string]*list.Element // of *seqHost
	lru   list.List                // front: heard from most recently
}

type seqHost struct {
	id   string
	top  uint64                 // the highest number seen
	bits [seqWindow / 64]uint64 // bit n%seqWindow: n seen, for n in (top-seqWindow, top]
}

func (h *seqHost) has(n uint64) bool { return h.bits[n/64%uint64(len(h.bits))]&(1<<(n%64)) != 0 }
func (h *seqHost) set(n uint64)      { h.bits[n/64%uint64(len(h.bits))] |= 1 << (n % 64) }
func (h *seqHost) clear(n uint64)    { h.bits[n/64%uint64(len(h.bits))] &^= 1 << (n % 64) }

// check records (host, seq) and reports whether it is new, a duplicate or
// too old to tell. seq must not be 0 (none).
func (f *seqFilter) check(host string, seq uint64) seqOutcome {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hosts == nil {
		f.hosts = map[string]*list.Element{}
	}
	e, ok := f.hosts[host]
	if !ok {
		var h *seqHost
		if f.lru.Len() >= seqHosts {
			old := f.lru.Back()
			h = f.lru.Remove(old).(*seqHost)
			delete(f.hosts, h.id)
			*h = seqHost{}
		} else {
			h = &seqHost{}
		}
		h.id, h.top = host, seq
		h.set(seq)
		f.hosts[host] = f.lru.PushFront(h)
		return seqNew
	}
	f.lru.MoveToFront(e)
	h := e.Value.(*seqHost)
	switch {
	case seq > h.top:
		if seq-h.top >= seqWindow {
			h.bits = [len(h.bits)]uint64{}
		} else {
			for n := h.top + 1; n < seq; n++ {
				h.clear(n)
			}
			h.clear(seq)
		}
		h.top = seq
		h.set(seq)
		return seqNew
	case h.top-seq >= seqWindow:
		return seqTooOld
	case h.has(seq):
		return seqDuplicate
	default:
		h.set(seq)
		return seqNew
	}
}

// len returns how many hosts are remembered.
func (f *seqFilter) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lru.Len()
}
