package main

import (
	"os"
	"testing"

	"github.com/latchauth/latch/rules/sandbox"
)

// TestMain lets this test binary serve as a rule worker: the servers the tests start spawn
// their rule workers from os.Executable(), which is this binary.
func TestMain(m *testing.M) {
	sandbox.MaybeRunWorker()
	os.Exit(m.Run())
}
