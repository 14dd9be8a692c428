// Package cli is latch's admin command line: `latch rules|users|keys|logs ...` run against a
// running latch through its Management API v2, with the bootstrap (or any machine-to-machine)
// client's credentials. It speaks HTTP only, as any other client of the API does, so it
// imports nothing of the server.
//
// Every command takes the same connection flags (--url, --client-id, --client-secret,
// --profile, --ca-file, --insecure-skip-verify, --token-scope) and --output text|json. The
// exit code says what happened, so that scripts and CI can tell a refused confirmation from a
// wrong secret from a server that is down: see the Exit* constants.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Exit codes, the same for every command (docs/cli.md, `latch help`).
const (
	ExitOK          = 0 // done
	ExitFailed      = 1 // the operation failed (latch refused it, a job had failures, ...)
	ExitUsage       = 2 // bad flags or arguments, or an unusable configuration
	ExitRefused     = 3 // a confirmation was refused, or could not be asked (no TTY, no --yes)
	ExitAuth        = 4 // the credentials were refused, or the token lacks a scope
	ExitUnreachable = 5 // latch could not be reached (connection, DNS, TLS)
)

// Env is what a command runs with. The terminal facts decide whether a progress bar is drawn
// and whether a confirmation can be asked.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// StdinIsTerminal and StderrIsTerminal say whether a person is there to answer and to
	// watch; nil means no.
	StdinIsTerminal  func() bool
	StderrIsTerminal func() bool

	// sleep waits between polls and before retries; tests replace it so they never wait.
	sleep func(ctx context.Context, d time.Duration) error
	// pollEvery is how often logs tail --follow and job waits poll (default a second).
	pollEvery time.Duration
}

// OSEnv is the process's environment, with stdout and stderr as given (main passes its own).
func OSEnv(stdout, stderr io.Writer) Env {
	return Env{
		Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv,
		StdinIsTerminal:  func() bool { return isTerminal(os.Stdin) },
		StderrIsTerminal: func() bool { return isTerminal(stderr) },
	}
}

// isTerminal reports whether w is a character device (a terminal, in practice). /dev/null is
// one too; a prompt read from it gets EOF, which counts as "no".
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (e Env) stdinTTY() bool  { return e.StdinIsTerminal != nil && e.StdinIsTerminal() }
func (e Env) stderrTTY() bool { return e.StderrIsTerminal != nil && e.StderrIsTerminal() }

func (e Env) wait(ctx context.Context, d time.Duration) error {
	if e.sleep != nil {
		return e.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (e Env) poll() time.Duration {
	if e.pollEvery > 0 {
		return e.pollEvery
	}
	return time.Second
}

// commands are the command groups this package serves, with their subcommands.
var commands = map[string][]string{
	"rules": {"list", "pull", "push", "test"},
	"users": {"get", "search", "import", "export", "job"},
	"keys":  {"list", "rotate", "revoke"},
	"logs":  {"tail"},
}

// IsCommand reports whether name is a command group of the admin CLI (main dispatches on it).
func IsCommand(name string) bool {
	_, ok := commands[name]
	return ok
}

// Run runs `latch GROUP SUBCOMMAND ...` (args[0] is the group) and returns the exit code.
// ctx ends the command early (main cancels it on SIGINT; logs tail --follow stops then).
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if len(args) == 0 || !IsCommand(args[0]) {
		Usage(env.Stderr)
		return ExitUsage
	}
	group := args[0]
	if len(args) < 2 || args[1] == "help" || args[1] == "-h" || args[1] == "--help" {
		groupUsage(env.Stderr, group)
		if len(args) >= 2 {
			return ExitOK
		}
		return ExitUsage
	}
	sub := args[1]
	if !slices.Contains(commands[group], sub) {
		fmt.Fprintf(env.Stderr, "latch %s: unknown command %q\n", group, sub)
		groupUsage(env.Stderr, group)
		return ExitUsage
	}
	name := "latch " + group + " " + sub
	err := dispatch(ctx, group, sub, name, args[2:], env)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errHelp) {
		return ExitOK
	}
	if msg := err.Error(); msg != "" { // "" when the command already said everything
		fmt.Fprintf(env.Stderr, "%s: %s\n", name, msg)
	}
	return exitCode(err)
}

func dispatch(ctx context.Context, group, sub, name string, args []string, env Env) error {
	switch group + " " + sub {
	case "rules list":
		return rulesList(ctx, name, args, env)
	case "rules pull":
		return rulesPull(ctx, name, args, env)
	case "rules push":
		return rulesPush(ctx, name, args, env)
	case "rules test":
		return rulesTest(ctx, name, args, env)
	case "users get":
		return usersGet(ctx, name, args, env)
	case "users search":
		return usersSearch(ctx, name, args, env)
	case "users import":
		return usersImport(ctx, name, args, env)
	case "users export":
		return usersExport(ctx, name, args, env)
	case "users job":
		return usersJob(ctx, name, args, env)
	case "keys list":
		return keysList(ctx, name, args, env)
	case "keys rotate":
		return keysRotate(ctx, name, args, env)
	case "keys revoke":
		return keysRevoke(ctx, name, args, env)
	case "logs tail":
		return logsTail(ctx, name, args, env)
	}
	return usageErrorf("unknown command")
}

// ---------------------------------------------------------------------------------------
// Errors and exit codes

// errHelp is -h: the usage was printed, nothing failed.
var errHelp = errors.New("help requested")

// exitError carries an exit code; an empty msg means the command already said everything.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

func refusedErrorf(format string, args ...any) error {
	return &exitError{code: ExitRefused, msg: fmt.Sprintf(format, args...)}
}

// failed is an operation that failed after the command reported why (on stdout or stderr).
var failed = &exitError{code: ExitFailed}

// exitCode maps an error to its exit code: the classes are told apart by type, never by text.
func exitCode(err error) int {
	var ee *exitError
	var ue *unreachableError
	var ae *apiError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		return ExitUnreachable
	case errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403):
		return ExitAuth
	default:
		return ExitFailed
	}
}

// ---------------------------------------------------------------------------------------
// Usage

// Usage lists the admin commands, their shared flags and the exit codes (`latch help`).
func Usage(w io.Writer) {
	fmt.Fprint(w, `
admin commands (against a running latch, through its Management API; docs/cli.md):
  latch rules list                      the rules, in order
  latch rules pull DIR [--prune]        write DIR/rules/NAME.js + NAME.json (auth0-deploy-cli layout)
  latch rules push DIR [--yes] [--dry-run]
                                        make latch's rules match DIR/rules: shows the plan and
                                        the script diffs, asks before deleting
  latch rules test FILE --user EMAIL --app CLIENT_ID [--replace RULE_ID] [--scope S]
                                        dry-run a rule for a real user
  latch users get ID|EMAIL
  latch users search [Q] [--per-page N] [--page N] [--all] [--sort FIELD:1|-1]
  latch users import FILE --connection NAME [--upsert] [--wait]
  latch users export --connection NAME [--format ndjson|csv] [--fields a,b=alias] [-o FILE]
  latch users job ID                    an import or export job's status and errors
  latch keys list | rotate | revoke KID [--yes]
  latch logs tail [--type s,f] [--user ID] [--take N] [--follow]

  connection flags (every admin command; flags > environment > profile):
    --url URL              latch's URL (env LATCH_URL; default http://localhost:8080)
    --client-id ID         Management API client (env LATCH_CLIENT_ID)
    --client-secret S      its secret (env LATCH_CLIENT_SECRET); --client-secret-file F (env LATCH_CLIENT_SECRET_FILE)
    --profile NAME         a profile of $XDG_CONFIG_HOME/latch/profiles.json (mode 0600; env LATCH_PROFILE)
    --ca-file PEM          trust this CA too (a self-signed latch)
    --insecure-skip-verify do not verify latch's TLS certificate (development only)
    --token-scope "a b"    ask for fewer scopes than the client is granted (env LATCH_TOKEN_SCOPE)
    --output text|json     json: only machine-readable output on stdout

  exit codes: 0 ok, 1 operation failed, 2 usage, 3 confirmation refused,
              4 credentials refused or scope missing, 5 latch unreachable
`)
}

func groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "usage: latch %s %s ... (latch help lists the flags)\n", group, strings.Join(commands[group], "|"))
}
