//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// childPID returns the process id of this process's child named comm
// (from /proc/self/task/*/children), or -1.
func childPID(comm string) int {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			c, err := os.ReadFile("/proc/" + f + "/comm")
			if err == nil && strings.TrimSpace(string(c)) == comm {
				if pid, err := strconv.Atoi(f); err == nil {
					return pid
				}
			}
		}
	}
	return -1
}
