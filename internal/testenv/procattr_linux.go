//go:build linux

package testenv

import "syscall"

// procAttr makes a child (a peer or a server) die with the test process, even if cleanups never
// run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
