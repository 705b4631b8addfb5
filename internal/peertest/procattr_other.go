//go:build !linux

package peertest

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
