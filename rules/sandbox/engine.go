package sandbox

import (
	"log/slog"
	"os"

	"github.com/latchauth/latch/rules"
)

// newEngineRunner builds the in-process engine a worker serves: one per worker process, so
// its compiled programs, `global` and the actions' cache persist from request to request.
// Its log goes to stderr as JSON records, which the pool relays with their level. Outbound
// HTTP uses the engine's defaults (the system's resolver, dialer and roots): the options that
// are functions or TLS configurations cannot cross the process boundary.
func newEngineRunner(c *workerConfig) (rules.Runner, error) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return rules.NewEngine(rules.EngineOptions{Logger: log}), nil
}
