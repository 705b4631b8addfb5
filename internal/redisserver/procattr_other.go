//go:build !linux

package redisserver

import "syscall"

// procAttr: outside Linux there is no parent-death signal; cleanups kill
// the server.
func procAttr() *syscall.SysProcAttr { return nil }
