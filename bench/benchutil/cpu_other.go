//go:build !linux

package benchutil

import (
	"syscall"
	"time"
)

// ProcessCPU is unknown here: -1.
func ProcessCPU() time.Duration { return -1 }

// ChildCPU is unknown here: -1.
func ChildCPU(int) time.Duration { return -1 }

// DieWithParent: elsewhere children are stopped by the deferred cleanup
// only.
func DieWithParent() *syscall.SysProcAttr { return nil }
