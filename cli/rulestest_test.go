package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const claimsFromMetadata = `function addClaims(user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  context.idToken['https://example.com/plan'] = user.user_metadata.plan;
  context.accessToken['https://example.com/plan'] = user.user_metadata.plan;
  context.idToken.favorite_color = user.user_metadata.color;
  callback(null, user, context);
}`

func TestRulesTestCommand(t *testing.T) {
	s := shared
	clientID, _ := s.appClient(t)
	email := unique("cli-rules-test") + "@example.com"
	s.signup(t, clientID, email, map[string]any{"plan": "gold"})
	dir := t.TempDir()
	good := filepath.Join(dir, "claims.js")
	os.WriteFile(good, []byte(claimsFromMetadata), 0o600)
	deny := filepath.Join(dir, "deny.js")
	os.WriteFile(deny, []byte(`function (user, context, callback) { callback(new UnauthorizedError('no')); }`), 0o600)

	r := run(t, s, runOpts{}, "rules", "test", good, "--user", email, "--app", clientID)
	if r.code != 0 || !strings.Contains(r.stdout, `"https://example.com/plan": "gold"`) || !strings.Contains(r.stdout, `"outcome": "ok"`) {
		t.Fatalf("good rule: %s", r)
	}
	// The file may come after the flags.
	r = run(t, s, runOpts{}, "rules", "test", "--user", email, "--app", clientID, deny)
	if r.code != 1 || !strings.Contains(r.stdout, `"outcome": "denied"`) {
		t.Fatalf("denying rule: %s", r)
	}
	if r = run(t, s, runOpts{}, "rules", "test", good, "--user", "nobody@example.com", "--app", clientID); r.code != 1 || !strings.Contains(r.stderr, "no user has the email") {
		t.Fatalf("unknown user: %s", r)
	}
	if r = run(t, s, runOpts{}, "rules", "test", good); r.code != 2 || !strings.Contains(r.stderr, "--user") {
		t.Fatalf("missing flags: %s", r)
	}
	bad := filepath.Join(dir, "bad.js")
	os.WriteFile(bad, []byte(`function (user, context, callback) {`), 0o600)
	if r = run(t, s, runOpts{}, "rules", "test", bad, "--user", email, "--app", clientID); r.code != 1 || !strings.Contains(r.stderr, "line") {
		t.Fatalf("syntax error: %s", r)
	}
}
