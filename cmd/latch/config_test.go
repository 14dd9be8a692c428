package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func filesOf(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if v, ok := m[p]; ok {
			return []byte(v), nil
		}
		return nil, os.ErrNotExist
	}
}

const validKEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(nil, envOf(nil), filesOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "localhost:8080" || cfg.Issuer != "http://localhost:8080/" || cfg.DataDir != "./data" || cfg.BcryptCost != 10 {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestConfigPrecedence(t *testing.T) {
	files := filesOf(map[string]string{"/etc/latch.json": `{"addr":"127.0.0.1:7000","data_dir":"/from/file","bcrypt_cost":11}`})
	env := envOf(map[string]string{"LATCH_CONFIG": "/etc/latch.json", "LATCH_DATA_DIR": "/from/env", "LATCH_BCRYPT_COST": "12"})
	cfg, err := loadConfig([]string{"--bcrypt-cost", "13"}, env, files)
	if err != nil {
		t.Fatal(err)
	}
	// addr from the file, data dir from env over file, cost from the flag over both.
	if cfg.Addr != "127.0.0.1:7000" || cfg.DataDir != "/from/env" || cfg.BcryptCost != 13 {
		t.Fatalf("precedence: %+v", cfg)
	}
	if cfg.Issuer != "http://127.0.0.1:7000/" {
		t.Fatalf("issuer derived from addr: %q", cfg.Issuer)
	}
}

func TestConfigIssuerAlwaysEndsInSlash(t *testing.T) {
	cfg, err := loadConfig(nil, envOf(map[string]string{"LATCH_ISSUER": "https://auth.example.com"}), filesOf(nil))
	if err != nil || cfg.Issuer != "https://auth.example.com/" {
		t.Fatalf("issuer %q, err %v", cfg.Issuer, err)
	}
}

func TestConfigSecretFromFile(t *testing.T) {
	env := envOf(map[string]string{"LATCH_SECRET_KEY_FILE": "/run/secrets/kek", "LATCH_BOOTSTRAP_CLIENT_SECRET_FILE": "/run/secrets/boot"})
	files := filesOf(map[string]string{"/run/secrets/kek": validKEK + "\n", "/run/secrets/boot": "s3cr3t-0123456789-0123456789-0123456789\n"})
	cfg, err := loadConfig(nil, env, files)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SecretKey != validKEK || cfg.BootstrapClientSecret != "s3cr3t-0123456789-0123456789-0123456789" {
		t.Fatalf("secrets from files: %+v", cfg)
	}
	for _, a := range cfg.Redacted() {
		if s := a.(interface{ String() string }).String(); strings.Contains(s, "s3cr3t") || strings.Contains(s, validKEK) {
			t.Fatalf("redacted config leaks a secret: %s", s)
		}
	}
}

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	files := filesOf(map[string]string{"c.json": `{"addr":"x","no_such_key":1}`})
	env := envOf(map[string]string{
		"LATCH_ISSUER": "ftp://x/", "LATCH_BCRYPT_COST": "99", "LATCH_LOG_LEVEL": "loud",
		"LATCH_SECRET_KEY": "short", "LATCH_SECRET_KEY_FILE": "missing",
	})
	_, err := loadConfig([]string{"--config", "c.json", "--log-format", "xml"}, env, files)
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{"no_such_key", "issuer", "bcrypt_cost", "log_level", "log_format", "LATCH_SECRET_KEY and LATCH_SECRET_KEY_FILE", "secret_key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors do not mention %q:\n%s", want, msg)
		}
	}
}

func TestConfigRejectsUnknownFlagsAndArgs(t *testing.T) {
	if _, err := loadConfig([]string{"--nope"}, envOf(nil), filesOf(nil)); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if _, err := loadConfig([]string{"extra"}, envOf(nil), filesOf(nil)); err == nil {
		t.Fatal("stray argument accepted")
	}
	if _, err := loadConfig(nil, envOf(map[string]string{"LATCH_BCRYPT_COST": "ten"}), filesOf(nil)); err == nil || !strings.Contains(err.Error(), "LATCH_BCRYPT_COST") {
		t.Fatalf("bad number: %v", err)
	}
}

func TestCLIExitCodes(t *testing.T) {
	var out, errOut strings.Builder
	if code := cli([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "LATCH_ADDR") {
		t.Fatalf("help: %d %q", code, out.String())
	}
	t.Setenv("LATCH_BCRYPT_COST", "1")
	if code := cli([]string{"serve"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "bcrypt_cost") {
		t.Fatalf("bad config: exit %d, stderr %q", code, errOut.String())
	}
}

func TestConfigRules(t *testing.T) {
	files := filesOf(map[string]string{"c.json": `{"rules_timeout":"10s","rules_script_timeout":"2s","rules_allowed_hosts":"api.example.com, *.example.org"}`})
	cfg, err := loadConfig([]string{"--config", "c.json"}, envOf(map[string]string{"LATCH_RULES_TIMEOUT": "30s"}), files)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.RulesTimeout) != 30*time.Second || time.Duration(cfg.RulesScriptTimeout) != 2*time.Second {
		t.Fatalf("durations: %v %v", cfg.RulesTimeout, cfg.RulesScriptTimeout)
	}
	if got := strings.Join(cfg.AllowedHosts(), " "); got != "api.example.com *.example.org" {
		t.Fatalf("allowed hosts: %q", got)
	}
	for _, bad := range []map[string]string{
		{"LATCH_RULES_TIMEOUT": "soon"},
		{"LATCH_RULES_SCRIPT_TIMEOUT": "30s"}, // longer than the pipeline
		{"LATCH_RULES_ALLOWED_HOSTS": "http://evil.example.com/"},
		{"LATCH_RULES_ALLOWED_HOSTS": "*"},
		{"LATCH_RULES_WORKER_MEMORY_MIB": "8"},
	} {
		if _, err := loadConfig(nil, envOf(bad), filesOf(nil)); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

func TestConfigAllowlist(t *testing.T) {
	c := defaults()
	c.AttackProtectionAllowlist = " 10.0.0.0/8,192.168.1.7 , ::1"
	got, err := c.allowlist()
	if err != nil || len(got) != 3 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.168.1.7/32" || got[2].String() != "::1/128" {
		t.Fatalf("allowlist = %v, %v", got, err)
	}
	c.AttackProtectionAllowlist = "10.0.0.0/8,not-an-ip"
	if _, err := c.allowlist(); err == nil || !strings.Contains(err.Error(), `"not-an-ip"`) {
		t.Fatalf("bad entry: %v", err)
	}
}

// The console's and the traces' settings refuse what they cannot use, each by its name, and
// take the values they document.
func TestConfigConsoleAndTraces(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string // "" when the configuration is valid
	}{
		{map[string]string{"LATCH_OTEL_ENDPOINT": "collector:4318"}, "otel_endpoint"},
		{map[string]string{"LATCH_OTEL_ENDPOINT": "http://collector:4318", "LATCH_OTEL_SAMPLE_RATIO": "0"}, "otel_sample_ratio"},
		{map[string]string{"LATCH_OTEL_SAMPLE_RATIO": "1.5"}, "otel_sample_ratio"},
		{map[string]string{"LATCH_OTEL_SAMPLE_RATIO": "lots"}, "otel_sample_ratio"},
		{map[string]string{"LATCH_CONSOLE_SESSION_TIMEOUT": "soon"}, "LATCH_CONSOLE_SESSION_TIMEOUT"},
		{map[string]string{"LATCH_OTEL_ENDPOINT": "https://collector:4318", "LATCH_OTEL_SAMPLE_RATIO": "0.25",
			"LATCH_ADMINS": "a@example.com, auth0|1", "LATCH_BOOTSTRAP_ADMIN_EMAIL": "-", "LATCH_CONSOLE_SESSION_TIMEOUT": "15m"}, ""},
	} {
		cfg, err := loadConfig(nil, envOf(c.env), filesOf(nil))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.env, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want one naming %s", c.env, err, c.want)
		case c.want == "":
			if s := consoleSettings(cfg); len(s.Admins) != 2 || s.Admins[1] != "auth0|1" || s.SessionTimeout != 15*time.Minute {
				t.Errorf("console settings = %+v", s)
			}
		}
	}
}
