package shutdown_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/shutdown"
)

// TestCloseWaitsForTheGoroutines: Close closes Closing, waits for what Add
// counted, and refuses later Adds; a second Close returns false.
func TestCloseWaitsForTheGoroutines(t *testing.T) {
	t.Parallel()
	g := shutdown.New()
	if g.Closed() {
		t.Fatal("a new group is closed")
	}
	if !g.Add(2) {
		t.Fatal("Add refused on an open group")
	}
	var exited sync.WaitGroup
	exited.Add(2)
	var ended [2]bool
	for i := range 2 {
		go func() {
			defer g.Exit()
			<-g.Closing()
			time.Sleep(10 * time.Millisecond) // work after the signal that Close must wait for
			ended[i] = true
			exited.Done()
		}()
	}
	if !g.Close() {
		t.Fatal("the first Close returned false")
	}
	if !ended[0] || !ended[1] {
		t.Fatal("Close returned before the goroutines ended")
	}
	exited.Wait()
	if !g.Closed() {
		t.Fatal("Closed is false after Close")
	}
	if g.Add(1) {
		t.Fatal("Add counted a goroutine after Close")
	}
	if g.Close() {
		t.Fatal("a second Close returned true")
	}
}

// TestConcurrentClose: concurrent Closes and Adds are safe; exactly one
// Close is the first.
func TestConcurrentClose(t *testing.T) {
	t.Parallel()
	g := shutdown.New()
	var wg sync.WaitGroup
	firsts := make(chan bool, 8)
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			firsts <- g.Close()
		}()
		go func() {
			defer wg.Done()
			if g.Add(1) {
				g.Exit()
			}
		}()
	}
	wg.Wait()
	close(firsts)
	n := 0
	for f := range firsts {
		if f {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d Closes were the first", n)
	}
}
