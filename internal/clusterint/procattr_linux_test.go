//go:build integration && linux

package clusterint

import "syscall"

// procAttr makes a helper process die with the test process, even if
// cleanups never run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
