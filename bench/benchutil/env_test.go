package benchutil

import (
	"bytes"
	"testing"
)

// TestEnvAbort checks that a helper's Fatal becomes Do's error, not an
// exit, and that Close runs the cleanups once however often it is called.
func TestEnvAbort(t *testing.T) {
	e := NewEnv("benchutil", &bytes.Buffer{})
	ran := 0
	e.Cleanup(func() { ran++ })
	err := e.Do(func() { e.Fatalf("boom %d", 1) })
	if err == nil || err.Error() != "boom 1" {
		t.Errorf("Do(Fatalf) = %v, want boom 1", err)
	}
	if err := e.Do(func() {}); err != nil {
		t.Errorf("Do(nothing) = %v, want nil", err)
	}
	e.Close()
	e.Close()
	if ran != 1 {
		t.Errorf("Close ran the cleanup %d times, want 1", ran)
	}
}
