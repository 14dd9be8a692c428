package cli

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentialErrors(t *testing.T) {
	s := shared
	// A wrong secret: exit 4, and the message says the credentials were refused.
	r := run(t, s, runOpts{env: map[string]string{"LATCH_CLIENT_SECRET": "wrong-secret-0123456789abcdef0123456789"}}, "rules", "list")
	if r.code != ExitAuth || !strings.Contains(r.stderr, "latch refused the credentials of client "+s.ClientID) || r.stdout != "" {
		t.Fatalf("wrong secret: %s", r)
	}
	// A token without the scope the command needs: exit 4, the scope named.
	r = run(t, s, runOpts{}, "rules", "list", "--token-scope", "read:users")
	if r.code != ExitAuth || !strings.Contains(r.stderr, "the token lacks scope read:rules") || !strings.Contains(r.stderr, "--token-scope") {
		t.Fatalf("missing scope: %s", r)
	}
	// Nothing listens: exit 5.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	r = run(t, s, runOpts{env: map[string]string{"LATCH_URL": dead}}, "keys", "list")
	if r.code != ExitUnreachable || !strings.Contains(r.stderr, "cannot reach latch at "+dead) {
		t.Fatalf("unreachable: %s", r)
	}
	// Missing credentials and bad flags: exit 2.
	r = run(t, nil, runOpts{}, "rules", "list")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--client-id") {
		t.Fatalf("no credentials: %s", r)
	}
	if r = run(t, s, runOpts{}, "rules", "list", "--output", "yaml"); r.code != ExitUsage {
		t.Errorf("--output yaml: %s", r)
	}
	if r = run(t, s, runOpts{}, "rules", "list", "extra"); r.code != ExitUsage {
		t.Errorf("stray argument: %s", r)
	}
	if r = run(t, s, runOpts{}, "rules", "frobnicate"); r.code != ExitUsage {
		t.Errorf("unknown subcommand: %s", r)
	}
	// The secret from a file, as a container secret is mounted.
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(s.ClientSecret+"\n"), 0o600)
	r = run(t, s, runOpts{env: map[string]string{"LATCH_CLIENT_SECRET": "", "LATCH_CLIENT_SECRET_FILE": secretFile}}, "rules", "list")
	if r.code != ExitOK {
		t.Fatalf("LATCH_CLIENT_SECRET_FILE: %s", r)
	}
	r = run(t, s, runOpts{env: map[string]string{"LATCH_CLIENT_SECRET_FILE": secretFile}}, "rules", "list")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "both set") {
		t.Fatalf("secret and secret file both set: %s", r)
	}
}

// writeProfiles writes a profiles file into the config home of a run's environment.
func writeProfiles(t *testing.T, configHome string, mode os.FileMode, profiles map[string]profile) {
	t.Helper()
	dir := filepath.Join(configHome, "latch")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(profiles)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "profiles.json")
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is masked by the umask
		t.Fatal(err)
	}
}

func TestProfiles(t *testing.T) {
	s := shared
	home := t.TempDir()
	onlyProfile := map[string]string{"XDG_CONFIG_HOME": home, "LATCH_URL": "", "LATCH_CLIENT_ID": "", "LATCH_CLIENT_SECRET": ""}
	good := profile{URL: s.URL, ClientID: s.ClientID, ClientSecret: s.ClientSecret}
	bad := profile{URL: s.URL, ClientID: s.ClientID, ClientSecret: "wrong-secret-0123456789abcdef0123456789"}

	// A profile file others may read is refused, whatever it holds.
	writeProfiles(t, home, 0o644, map[string]profile{"prod": good})
	r := run(t, s, runOpts{env: onlyProfile}, "rules", "list", "--profile", "prod")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "mode 0644") || !strings.Contains(r.stderr, "chmod 600") {
		t.Fatalf("0644 profiles file: %s", r)
	}

	writeProfiles(t, home, 0o600, map[string]profile{"prod": good, "stale": bad, "default": good})
	if r = run(t, s, runOpts{env: onlyProfile}, "rules", "list", "--profile", "prod"); r.code != ExitOK {
		t.Fatalf("--profile prod: %s", r)
	}
	// With nothing else given, the default profile.
	if r = run(t, s, runOpts{env: onlyProfile}, "rules", "list"); r.code != ExitOK {
		t.Fatalf("default profile: %s", r)
	}
	if r = run(t, s, runOpts{env: onlyProfile}, "rules", "list", "--profile", "nope"); r.code != ExitUsage || !strings.Contains(r.stderr, `no profile "nope"`) {
		t.Fatalf("unknown profile: %s", r)
	}
	// The environment wins over the profile, a flag over both.
	envOverProfile := map[string]string{"XDG_CONFIG_HOME": home, "LATCH_CLIENT_SECRET": s.ClientSecret}
	if r = run(t, s, runOpts{env: envOverProfile}, "rules", "list", "--profile", "stale"); r.code != ExitOK {
		t.Fatalf("env secret over a profile's wrong one: %s", r)
	}
	if r = run(t, s, runOpts{env: envOverProfile}, "rules", "list", "--profile", "prod", "--client-secret", bad.ClientSecret); r.code != ExitAuth {
		t.Fatalf("a flag's wrong secret over right ones: %s", r)
	}
	// Without a default profile, nothing is taken from the file implicitly.
	writeProfiles(t, home, 0o600, map[string]profile{"prod": good, "stale": bad})
	if r = run(t, s, runOpts{env: onlyProfile}, "rules", "list"); r.code != ExitUsage || !strings.Contains(r.stderr, "missing --client-id") {
		t.Fatalf("no default profile: %s", r)
	}
	// LATCH_PROFILE names one too.
	if r = run(t, s, runOpts{env: map[string]string{"XDG_CONFIG_HOME": home, "LATCH_PROFILE": "stale", "LATCH_CLIENT_SECRET": ""}}, "rules", "list"); r.code != ExitAuth {
		t.Fatalf("LATCH_PROFILE=stale: %s", r)
	}
}

func TestTLSWithSelfSignedLatch(t *testing.T) {
	s := startExtraServer(t, "LATCH_TLS_SELF_SIGNED=true")
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("URL %s", s.URL)
	}
	r := run(t, s, runOpts{}, "keys", "list")
	if r.code != ExitUnreachable || !strings.Contains(r.stderr, "--ca-file") {
		t.Fatalf("self-signed without --ca-file: %s", r)
	}
	cert := filepath.Join(s.DataDir, "tls", "cert.pem")
	if r = run(t, s, runOpts{}, "keys", "list", "--ca-file", cert); r.code != ExitOK || !strings.Contains(r.stdout, "current") {
		t.Fatalf("--ca-file: %s", r)
	}
	r = run(t, s, runOpts{}, "keys", "list", "--insecure-skip-verify")
	if r.code != ExitOK || !strings.Contains(r.stderr, "not verified") {
		t.Fatalf("--insecure-skip-verify: %s", r)
	}
	if r = run(t, s, runOpts{}, "keys", "list", "--ca-file", filepath.Join(s.DataDir, "latch.db")); r.code != ExitUsage {
		t.Fatalf("--ca-file of something else: %s", r)
	}
}
