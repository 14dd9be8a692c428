package main

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// launcher starts the servers of a run from one goroutine locked to an OS thread that never
// exits: Linux sends the parent-death signal when the thread that started a child ends, not
// the process, so with a thread that lives as long as latchbench the servers die with it,
// however it ends.
var launcher struct {
	once sync.Once
	reqs chan launchReq
}

type launchReq struct {
	cmd  *exec.Cmd
	done chan error
}

// launch starts cmd so that the kernel kills it when latchbench dies.
func launch(cmd *exec.Cmd) error {
	launcher.once.Do(func() {
		launcher.reqs = make(chan launchReq)
		go func() {
			runtime.LockOSThread() // never unlocked
			for r := range launcher.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	launcher.reqs <- launchReq{cmd, done}
	return <-done
}
