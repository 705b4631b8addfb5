//go:build !unix

package main

import "time"

// processCPU returns -1: this platform's CPU accounting is not read.
func processCPU() time.Duration { return -1 }
