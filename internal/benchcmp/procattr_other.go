//go:build !linux

package main

import (
	"syscall"
	"time"
)

// dieWithParent returns nil where the kernel cannot tie a child's life to
// its parent's; the deferred stop and the signal handler still kill
// redis-server on a normal exit or an interrupt.
func dieWithParent() *syscall.SysProcAttr { return nil }

// childCPU returns -1: another process's CPU time is read only on Linux.
func childCPU(int) time.Duration { return -1 }
