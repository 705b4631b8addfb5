package di

import (
	"testing"
	"time"

	"github.com/sockgate/sockgate/gateway"
)

// TestResumeGraceMapping: SOCKET_RESUME_GRACE=0 holds nothing (the
// Worker's zero would mean its default); other values pass through.
func TestResumeGraceMapping(t *testing.T) {
	if got := resumeGrace(0); got != gateway.NoResumeGrace {
		t.Errorf("resumeGrace(0) = %v, want NoResumeGrace", got)
	}
	if got := resumeGrace(1500 * time.Millisecond); got != 1500*time.Millisecond {
		t.Errorf("resumeGrace(1.5s) = %v", got)
	}
}
