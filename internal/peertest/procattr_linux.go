//go:build linux

package peertest

import "syscall"

// procAttr makes a peer die with the test process, even if cleanups never
// run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
