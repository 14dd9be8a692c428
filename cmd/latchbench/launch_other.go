//go:build !linux

package main

import "os/exec"

// launch starts cmd. Without Linux's parent-death signal, a server outlives a latchbench
// that is killed before it stops them.
func launch(cmd *exec.Cmd) error { return cmd.Start() }
