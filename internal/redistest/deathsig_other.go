//go:build !linux

package redistest

import "os/exec"

// setDeathSignal does nothing where there is no parent-death signal: there, only Main and
// the test cleanups stop the servers.
func setDeathSignal(*exec.Cmd) {}
