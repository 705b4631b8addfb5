package redisserver

import "syscall"

// procAttr makes the child die with the test process (SIGKILL when the
// parent goes away), even if cleanups never run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
