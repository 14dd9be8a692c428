// Command testreport reads `go test -json` on standard input and prints what a plain
// `go test` would (the output of failed tests, the ok/FAIL line of each package), then one
// summary line, "summary: N passed, N failed, N skipped", counting tests and subtests. It is
// the last line of scripts/test.sh when the run passes.
//
// It exits non-zero when a test or a package failed, and, with CI=true, when any test was
// skipped or none ran at all: in CI a test that cannot find what it needs must fail, never
// skip. scripts/test.sh pipes the test run through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail events
}

type key struct{ pkg, test string }

type report struct {
	out                   io.Writer
	start                 time.Time        // when the run began, to report how long it took
	pending               map[key][]string // output of tests that have not ended yet
	passed, failed, skips int
	failedPkgs            []string
	skipped               []string // "pkg TestName", with the skip reason below it
}

func main() {
	r := &report{out: os.Stdout, pending: make(map[key][]string), start: time.Now()}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		r.line(in.Text())
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	os.Exit(r.finish(os.Getenv("CI") == "true"))
}

func (r *report) line(text string) {
	var e event
	if !strings.HasPrefix(text, "{") || json.Unmarshal([]byte(text), &e) != nil {
		fmt.Fprintln(r.out, text) // not an event: pass it on
		return
	}
	k := key{e.Package, e.Test}
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.out, e.Output)
	case e.Action == "output" && e.Test != "":
		r.pending[k] = append(r.pending[k], e.Output)
	case e.Action == "output" && e.Output == "PASS\n":
		// -json implies -v, which adds this line before each package's "ok"; plain go test
		// does not print it.
	case e.Action == "output":
		// Package-level lines: ok/FAIL, "no test files", and whatever TestMain printed.
		fmt.Fprint(r.out, e.Output)
	case e.Test != "" && e.Action == "pass":
		r.passed++
		delete(r.pending, k)
	case e.Test != "" && e.Action == "fail":
		r.failed++
		r.flush(k)
	case e.Test != "" && e.Action == "skip":
		r.skips++
		r.skipped = append(r.skipped, e.Package+" "+e.Test+"\n"+indentedReason(r.pending[k]))
		delete(r.pending, k)
	case e.Test == "" && e.Action == "fail":
		r.failedPkgs = append(r.failedPkgs, e.Package)
		// A panic or a timeout ends the package with tests still running: show their output.
		for _, t := range r.pendingTests(e.Package) {
			r.flush(key{e.Package, t})
		}
	}
}

func (r *report) flush(k key) {
	for _, line := range r.pending[k] {
		fmt.Fprint(r.out, line)
	}
	delete(r.pending, k)
}

func (r *report) pendingTests(pkg string) []string {
	var tests []string
	for k := range r.pending {
		if k.pkg == pkg {
			tests = append(tests, k.test)
		}
	}
	slices.Sort(tests)
	return tests
}

// indentedReason keeps the lines a skipped test logged, without the === and --- markers.
func indentedReason(output []string) string {
	var b strings.Builder
	for _, line := range output {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "=== ") || strings.HasPrefix(trimmed, "--- ") || trimmed == "" {
			continue
		}
		b.WriteString("    " + trimmed + "\n")
	}
	return b.String()
}

// finish prints the skips and the summary line and returns the exit code.
func (r *report) finish(ci bool) int {
	code := 0
	if r.failed > 0 || len(r.failedPkgs) > 0 {
		code = 1
	}
	if len(r.skipped) > 0 {
		if ci {
			fmt.Fprintf(r.out, "\nFAIL: %d tests skipped under CI=true (CI must run everything):\n", len(r.skipped))
			code = 1
		} else {
			fmt.Fprintf(r.out, "\nskipped (these fail under CI=true):\n")
		}
		for _, s := range r.skipped {
			fmt.Fprint(r.out, "  "+s)
		}
	}
	if len(r.failedPkgs) > 0 {
		fmt.Fprintf(r.out, "\nfailed packages: %s\n", strings.Join(r.failedPkgs, " "))
	}
	if ci && r.passed+r.failed+r.skips == 0 {
		fmt.Fprintln(r.out, "\nFAIL: no test ran")
		code = 1
	}
	if !r.start.IsZero() {
		fmt.Fprintf(r.out, "go test took %s (CI=%v)\n", time.Since(r.start).Round(time.Second), ci)
	}
	fmt.Fprintf(r.out, "summary: %d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skips)
	return code
}
