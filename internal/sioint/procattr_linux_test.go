//go:build integration && linux

package sioint

import "syscall"

// procAttr makes a peer process die with the test process, even if
// cleanups never run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
