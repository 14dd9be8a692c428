// Command latch is the latch authentication server, and its admin command line.
//
//	latch [serve] [flags]              run the server (the default command)
//	latch rules list|pull|push|test    manage a running latch's rules (pull/push: the
//	                                   auth0-deploy-cli directory layout)
//	latch users get|search|import|export|job
//	latch keys list|rotate|revoke      signing keys
//	latch logs tail [--follow]         the auth event log
//	latch help                         the flags, environment variables and exit codes
//
// The admin commands (package cli) talk to a running latch through its Management API v2
// with a machine-to-machine client's credentials; see docs/cli.md.
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

	latchcli "github.com/latchauth/latch/cli"
	"github.com/latchauth/latch/internal/requestid"
	"github.com/latchauth/latch/rules/sandbox"
)

func main() {
	// A rule worker is this same binary started by the sandbox pool: it serves and exits here.
	sandbox.MaybeRunWorker()
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && latchcli.IsCommand(args[0]) {
		// Ctrl-C ends an admin command (logs tail --follow) cleanly.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return latchcli.Run(ctx, args, latchcli.OSEnv(stdout, stderr))
	}
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	if cmd != "serve" {
		usage(stdout)
		latchcli.Usage(stdout)
		return 0
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
