// Command latch is the latch authentication server.
//
//	latch [serve] [flags]   run the server (the default command)
//	latch rules test FILE   dry-run a rule against a running latch (see latch rules)
//	latch help              list the flags and environment variables
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/latchauth/latch/internal/requestid"
	"github.com/latchauth/latch/rules/sandbox"
)

func main() {
	// A rule worker is this same binary started by the sandbox pool: it serves and exits here.
	sandbox.MaybeRunWorker()
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

func cli(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "rules" || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	case "rules":
		return rulesCommand(args, stdout, stderr, os.Getenv)
	}
	cfg, err := loadConfig(args, os.Getenv, os.ReadFile)
	if err != nil {
		fmt.Fprintf(stderr, "latch: configuration problems:\n%v\n\n", err)
		usage(stderr)
		return 2
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, nil, stdout, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("latch stopped", "error", err)
		return 1
	}
	return 0
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(requestid.NewHandler(h))
}
