//go:build !linux

package natsserver

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
