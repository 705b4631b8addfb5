//go:build integration && !linux

package clusterint

import "syscall"

// procAttr: outside Linux there is no parent-death signal; cleanups stop
// the helper processes.
func procAttr() *syscall.SysProcAttr { return nil }
