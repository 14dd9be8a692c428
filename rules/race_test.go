//go:build race

package rules

// The race detector slows goja several times: time limits in tests get more slack.
const raceEnabled = true
