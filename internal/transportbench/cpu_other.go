//go:build !linux

package main

import (
	"syscall"
	"time"
)

// processCPU returns -1: CPU times are read on Linux only.
func processCPU() time.Duration { return -1 }

// childCPU returns -1: CPU times are read on Linux only.
func childCPU(int) time.Duration { return -1 }

// childPID returns -1: children are found on Linux only.
func childPID(string) int { return -1 }

// procAttr returns nil where the kernel cannot tie a child's life to its
// parent's; ctx cancellation still kills it.
func procAttr() *syscall.SysProcAttr { return nil }
