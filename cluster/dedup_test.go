package cluster

import (
	"fmt"
	"testing"
)

func TestSeqFilter(t *testing.T) {
	var f seqFilter
	check := func(host string, seq uint64, want seqOutcome) {
		t.Helper()
		if got := f.check(host, seq); got != want {
			t.Fatalf("check(%s, %d) = %d, want %d", host, seq, got, want)
		}
	}
	check("a", 100, seqNew)
	check("a", 100, seqDuplicate)
	check("b", 100, seqNew) // each host numbers on its own
	check("a", 102, seqNew)
	check("a", 101, seqNew) // reordered by concurrent emits: still new
	check("a", 101, seqDuplicate)
	check("a", 102, seqDuplicate)
	check("a", 99, seqNew) // below the first one seen, inside the window
	check("a", 99, seqDuplicate)

	// The window slides up with the newest number; the bits it leaves
	// behind are cleared, however far it moves.
	check("a", 100+seqWindow-1, seqNew)
	check("a", 101, seqDuplicate) // still inside
	check("a", 100+seqWindow+1, seqNew)
	check("a", 101, seqTooOld) // now outside: cannot tell
	check("a", 100+seqWindow+2+seqWindow/2, seqNew)
	check("a", 100+seqWindow+2+seqWindow/2-1, seqNew) // cleared on the way up, not stale bits
	check("a", 10*seqWindow, seqNew)
	check("a", 10*seqWindow-seqWindow+1, seqNew)
	check("a", 10*seqWindow-seqWindow, seqTooOld)
	for n := uint64(1); n < seqWindow; n++ { // every slot of the ring, once
		check("c", 5*seqWindow+n, seqNew)
	}
	for n := uint64(1); n < seqWindow; n++ {
		check("c", 5*seqWindow+n, seqDuplicate)
	}
}

// The filter remembers at most seqHosts hosts; the one heard from least
// recently is forgotten first.
func TestSeqFilterForgetsTheLeastRecentHost(t *testing.T) {
	var f seqFilter
	for i := range seqHosts {
		f.check(fmt.Sprint("h", i), 1)
	}
	f.check("h0", 2) // h0 is now the most recent; h1 the least
	f.check("new", 1)
	if n := f.len(); n != seqHosts {
		t.Fatalf("%d hosts remembered, want %d", n, seqHosts)
	}
	if f.check("h0", 2) != seqDuplicate {
		t.Fatal("h0 forgotten although heard from recently")
	}
	if f.check("h1", 1) != seqNew {
		t.Fatal("h1 not forgotten although heard from least recently")
	}
}

func BenchmarkSeqFilter(b *testing.B) {
	var f seqFilter
	b.ReportAllocs()
	n := uint64(0)
	for b.Loop() {
		n++
		f.check("host", n)
	}
}
