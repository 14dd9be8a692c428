package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The mail settings: every source sets them, a misconfiguration is found at start (with every
// problem at once), and the SMTP password never shows in an error or the start-up log.
func TestEmailConfig(t *testing.T) {
	env := envOf(map[string]string{
		"LATCH_ISSUER":        "https://auth.example.com/",
		"LATCH_SMTP_URL_FILE": "/run/secrets/smtp",
		"LATCH_MAIL_FROM":     "Example <no-reply@example.com>",
		"LATCH_SMTP_TIMEOUT":  "5s",
		"LATCH_SMTP_CA_FILE":  "/etc/ssl/relay-ca.pem",
	})
	files := filesOf(map[string]string{"/run/secrets/smtp": "smtp://mailer:pa55-w0rd@smtp.example.com:587\n"})
	cfg, err := loadConfig([]string{"--mail-verify-signups=false", "--mail-templates-dir", "/etc/latch/mail"}, env, files)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTPURL != "smtp://mailer:pa55-w0rd@smtp.example.com:587" || cfg.MailFrom != "Example <no-reply@example.com>" ||
		time.Duration(cfg.SMTPTimeout) != 5*time.Second || cfg.SMTPCAFile != "/etc/ssl/relay-ca.pem" ||
		cfg.MailTemplatesDir != "/etc/latch/mail" || cfg.MailVerifySignups != "false" {
		t.Fatalf("mail settings: %+v", cfg)
	}
	if flags := emailSettings(cfg); !flags.NoSignupVerification {
		t.Error("mail_verify_signups=false does not turn the signup email off")
	}
	if log := fmt.Sprint(cfg.Redacted()...); strings.Contains(log, "pa55-w0rd") || !strings.Contains(log, "smtp_url") {
		t.Fatalf("start-up log shows the SMTP password: %s", log)
	}

	defaults, err := loadConfig(nil, envOf(nil), filesOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if defaults.MailVerifySignups != "" || defaults.SMTPURL != "" || time.Duration(defaults.SMTPTimeout) != 30*time.Second {
		t.Fatalf("mail defaults: %+v", defaults)
	}
	// Signups verify by default with a mail server, not without one (unless asked).
	for _, c := range []struct {
		smtp, verify string
		want         bool
	}{{"", "", false}, {"smtp://relay.example.com", "", true}, {"", "true", true}, {"smtp://relay.example.com", "false", false}} {
		if got := !emailSettings(Config{SMTPURL: c.smtp, MailVerifySignups: c.verify}).NoSignupVerification; got != c.want {
			t.Errorf("smtp_url %q, mail_verify_signups %q: signups verify = %v", c.smtp, c.verify, got)
		}
	}

	for _, c := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no sender", map[string]string{"LATCH_ISSUER": "https://a.example/", "LATCH_SMTP_URL": "smtp://u:topsecret@smtp.example.com"},
			[]string{"mail_from: required"}},
		{"http issuer", map[string]string{"LATCH_ISSUER": "http://auth.example.com/", "LATCH_SMTP_URL": "smtp://u:topsecret@smtp.example.com", "LATCH_MAIL_FROM": "a@example.com"},
			[]string{"https:// issuer"}},
		{"clear text to a remote server", map[string]string{"LATCH_ISSUER": "https://a.example/", "LATCH_SMTP_URL": "smtp://u:topsecret@smtp.example.com?starttls=false", "LATCH_MAIL_FROM": "a@example.com"},
			[]string{"loopback"}},
		{"bad scheme and sender at once", map[string]string{"LATCH_ISSUER": "https://a.example/", "LATCH_SMTP_URL": "http://u:topsecret@smtp.example.com", "LATCH_MAIL_FROM": "a@example.com\r\nBcc: x@evil.test"},
			[]string{"mail_from", "control character"}},
		{"CA without a server", map[string]string{"LATCH_SMTP_CA_FILE": "/ca.pem"}, []string{"smtp_ca_file"}},
		{"zero timeout", map[string]string{"LATCH_SMTP_TIMEOUT": "0s"}, []string{"smtp_timeout"}},
		{"verify signups maybe", map[string]string{"LATCH_MAIL_VERIFY_SIGNUPS": "maybe"}, []string{"mail_verify_signups"}},
	} {
		_, err := loadConfig(nil, envOf(c.env), filesOf(nil))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: the error shows the SMTP password: %v", c.name, err)
		}
	}
	// http:// is fine for a development issuer on localhost.
	if _, err := loadConfig(nil, envOf(map[string]string{"LATCH_SMTP_URL": "smtp://127.0.0.1:2525?starttls=false", "LATCH_MAIL_FROM": "dev@localhost.localdomain"}), filesOf(nil)); err != nil {
		t.Errorf("a local relay for a localhost issuer: %v", err)
	}
}
