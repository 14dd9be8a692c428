package cli

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRuleFileBase(t *testing.T) {
	for name, want := range map[string]string{
		"Add Claims":      "Add Claims",
		"deny-blocked":    "deny-blocked",
		"Règle ☃ 日本":      "Règle ☃ 日本",
		"a/b\\c:d*e?f":    "a-b-c-d-e-f",
		`<x>|"y"`:         "-x---y-",
		"tab\there\x7f":   "tab-here\x7f",
		"ctrl\u0085":      "ctrl-",
		"..":              "-",
		"con":             "-",
		"LPT1.txt":        "-",
		"console":         "console",
		"trailing dots..": "trailing dots-",
	} {
		if got := ruleFileBase(name); got != want {
			t.Errorf("ruleFileBase(%q) = %q, want %q", name, got, want)
		}
	}
	long := strings.Repeat("é", 200) // 400 bytes
	if got := ruleFileBase(long); len(got) > 250 || !strings.HasPrefix(long, got) || !strings.HasSuffix(got, "é") {
		t.Errorf("a long name is cut at a character boundary within 250 bytes: %d bytes", len(got))
	}
}

func TestWriteRulesDirRefusesCollisions(t *testing.T) {
	for _, pair := range [][2]string{{"a/b", "a:b"}, {"Foo", "foo"}} {
		dir := t.TempDir()
		_, err := writeRulesDir(dir, []remoteRule{{Name: pair[0], Script: "x"}, {Name: pair[1], Script: "y"}})
		if err == nil || !strings.Contains(err.Error(), "would both be written") {
			t.Errorf("%q and %q: %v", pair[0], pair[1], err)
		}
		if entries, _ := os.ReadDir(filepath.Join(dir, "rules")); len(entries) != 0 {
			t.Errorf("%q and %q: files written despite the collision: %v", pair[0], pair[1], entries)
		}
	}
}

func TestUnifiedDiff(t *testing.T) {
	from := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	to := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn"
	want := "--- old\n+++ new\n" +
		"@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n" +
		"@@ -11,3 +11,4 @@\n k\n l\n m\n+n\n\\ No newline at end of file\n"
	if got := unifiedDiff("old", "new", from, to); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if got := unifiedDiff("a", "b", "same\n", "same\n"); got != "" {
		t.Errorf("equal texts: %q", got)
	}
	if got := unifiedDiff("a", "b", "", "x\n"); got != "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n" {
		t.Errorf("from nothing: %q", got)
	}
}

// The edit script, applied, gives the new text, and keeps the common lines: checked on
// random texts over a small alphabet (many repeats), and against diff(1) when present.
func TestDiffLinesProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomLines := func() []string {
		n := rng.IntN(30)
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a'+rng.IntN(4))) + "\n"
		}
		return out
	}
	for i := range 500 {
		a, b := randomLines(), randomLines()
		ops := diffLines(a, b)
		var gotA, gotB []string
		edits := 0
		for _, op := range ops {
			if op.kind != '+' {
				gotA = append(gotA, op.line)
			}
			if op.kind != '-' {
				gotB = append(gotB, op.line)
			}
			if op.kind != ' ' {
				edits++
			}
		}
		if !slices.Equal(gotA, a) || !slices.Equal(gotB, b) {
			t.Fatalf("case %d: the edit script does not rebuild the texts", i)
		}
		if lcs := lcsLen(a, b); edits != len(a)+len(b)-2*lcs {
			t.Fatalf("case %d: %d edits, the shortest has %d", i, edits, len(a)+len(b)-2*lcs)
		}
	}
	diffBin, err := exec.LookPath("diff")
	if err != nil {
		t.Log("no diff(1) to compare with")
		return
	}
	dir := t.TempDir()
	for i := range 50 {
		a, b := strings.Join(randomLines(), ""), strings.Join(randomLines(), "")
		os.WriteFile(filepath.Join(dir, "a"), []byte(a), 0o600)
		os.WriteFile(filepath.Join(dir, "b"), []byte(b), 0o600)
		out, err := exec.Command(diffBin, "-u", "--minimal", filepath.Join(dir, "a"), filepath.Join(dir, "b")).Output()
		var ee *exec.ExitError
		if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 1) {
			t.Logf("diff(1) -u --minimal: %v; not compared", err)
			return
		}
		// Both are shortest; they may choose different ones, but the hunk headers (which
		// lines each side covers) only agree when both group the same way, so compare the
		// counts of removed and added lines.
		count := func(s string, c byte) int {
			n := 0
			for _, l := range strings.Split(s, "\n") {
				if len(l) > 0 && l[0] == c && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "+++") {
					n++
				}
			}
			return n
		}
		ours := unifiedDiff("a", "b", a, b)
		if count(ours, '-') != count(string(out), '-') || count(ours, '+') != count(string(out), '+') {
			t.Fatalf("case %d: ours\n%s\ndiff(1)\n%s", i, ours, out)
		}
	}
}

func lcsLen(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

func TestParseInterspersed(t *testing.T) {
	for _, args := range [][]string{{"DIR", "--yes"}, {"--yes", "DIR"}, {"--output=json", "DIR", "--yes"}} {
		c := newCommand("latch rules push", Env{Stderr: &syncBuffer{}})
		yes := c.fs.Bool("yes", false, "")
		pos, err := c.parse(args, "usage", 1)
		if err != nil || !slices.Equal(pos, []string{"DIR"}) || !*yes {
			t.Errorf("%q: %v %v yes=%v", args, pos, err, *yes)
		}
	}
	c := newCommand("latch rules push", Env{Stderr: &syncBuffer{}})
	pos, err := c.parse([]string{"--", "--weird-dir"}, "usage", 1)
	if err != nil || !slices.Equal(pos, []string{"--weird-dir"}) {
		t.Errorf("after --: %v %v", pos, err)
	}
	c = newCommand("latch rules push", Env{Stderr: &syncBuffer{}})
	if _, err := c.parse([]string{"--nope"}, "usage", 0); exitCode(err) != ExitUsage {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"3": 3 * time.Second, "0": 0, "": time.Second, "soon": time.Second,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}

func TestAPIErrorMessages(t *testing.T) {
	e := parseAPIError("GET /api/v2/rules", 403, []byte(`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:rules","errorCode":"insufficient_scope"}`))
	if got := e.Error(); !strings.HasPrefix(got, "the token lacks scope read:rules (GET /api/v2/rules)") {
		t.Errorf("scope: %q", got)
	}
	e = parseAPIError("GET /api/v2/users/x/logs", 403, []byte(`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:logs,read:logs_users","errorCode":"insufficient_scope"}`))
	if got := e.Error(); !strings.HasPrefix(got, "the token lacks scope read:logs or read:logs_users (") {
		t.Errorf("scopes: %q", got)
	}
	e = parseAPIError("POST /oauth/token", 401, []byte(`{"error":"invalid_client","error_description":"Unauthorized"}`))
	if e.Code != "invalid_client" || e.Message != "Unauthorized" || exitCode(e) != ExitAuth {
		t.Errorf("oauth error: %+v", e)
	}
	e = parseAPIError("GET /x", 502, []byte("<html>bad gateway</html>"))
	if !strings.Contains(e.Error(), "502 <html>bad gateway</html>") || exitCode(e) != ExitFailed {
		t.Errorf("not latch's shape: %q", e.Error())
	}
	if exitCode(&unreachableError{url: "u", err: errors.New("x")}) != ExitUnreachable {
		t.Error("unreachable")
	}
}
