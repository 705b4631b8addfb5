//go:build integration && !linux

package sioint

import "syscall"

// procAttr: outside Linux there is no parent-death signal; cleanups stop
// the peer processes.
func procAttr() *syscall.SysProcAttr { return nil }
