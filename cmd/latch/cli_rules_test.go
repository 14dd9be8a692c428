package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesTestCommand(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)
	signup(t, l, clientID, "cli@example.com", "Correct-Horse-9", map[string]any{"plan": "gold"})
	dir := t.TempDir()
	good := filepath.Join(dir, "claims.js")
	os.WriteFile(good, []byte(corpus[0].script), 0o600)
	deny := filepath.Join(dir, "deny.js")
	os.WriteFile(deny, []byte(`function (user, context, callback) { callback(new UnauthorizedError('no')); }`), 0o600)
	env := func(k string) string {
		return map[string]string{"LATCH_URL": l.URL, "LATCH_CLIENT_ID": l.ClientID, "LATCH_CLIENT_SECRET": l.ClientSecret}[k]
	}
	run := func(args ...string) (int, string, string) {
		var out, errOut strings.Builder
		code := rulesCommand(args, &out, &errOut, env)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := run("test", good, "--user", "cli@example.com", "--app", clientID)
	if code != 0 || !strings.Contains(out, `"https://example.com/plan": "gold"`) || !strings.Contains(out, `"outcome": "ok"`) {
		t.Fatalf("good rule: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run("test", "--user", "cli@example.com", "--app", clientID, deny)
	if code != 1 || !strings.Contains(out, `"outcome": "denied"`) {
		t.Fatalf("denying rule: exit %d\n%s", code, out)
	}
	if code, _, errOut = run("test", good, "--user", "nobody@example.com", "--app", clientID); code != 1 || !strings.Contains(errOut, "no user has the email") {
		t.Fatalf("unknown user: exit %d %s", code, errOut)
	}
	if code, _, errOut = run("test", good); code != 2 || !strings.Contains(errOut, "--user") {
		t.Fatalf("missing flags: exit %d %s", code, errOut)
	}
	bad := filepath.Join(dir, "bad.js")
	os.WriteFile(bad, []byte(`function (user, context, callback) {`), 0o600)
	if code, _, errOut = run("test", bad, "--user", "cli@example.com", "--app", clientID); code != 1 || !strings.Contains(errOut, "line") {
		t.Fatalf("syntax error: exit %d %s", code, errOut)
	}
}
