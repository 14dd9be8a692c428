package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/metrics"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

// checkMail validates the mail settings without touching the network or the CA file (which
// serve reads at start): the URL and the sender parse, and the links the emails carry can be
// rendered — mail refuses http:// links but to localhost, so a real mail server needs an
// https:// issuer.
func (c *Config) checkMail() []error {
	var problems []error
	switch c.MailVerifySignups {
	case "", "true", "false":
	default:
		problems = append(problems, fmt.Errorf("mail_verify_signups %q: want true or false", c.MailVerifySignups))
	}
	if c.SMTPTimeout <= 0 {
		problems = append(problems, fmt.Errorf("smtp_timeout %v: want a positive duration", time.Duration(c.SMTPTimeout)))
	}
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			problems = append(problems, fmt.Errorf("mail_from %q: %w", c.MailFrom, err))
		}
	}
	if c.SMTPURL == "" {
		if c.SMTPCAFile != "" {
			problems = append(problems, errors.New("smtp_ca_file is set but smtp_url is not"))
		}
		return problems
	}
	if c.MailFrom == "" {
		problems = append(problems, errors.New("mail_from: required with smtp_url (the sender of latch's email)"))
	} else if _, err := mail.NewSMTP(mail.SMTPConfig{URL: c.SMTPURL, From: c.MailFrom, Timeout: time.Duration(c.SMTPTimeout)}); err != nil {
		problems = append(problems, err) // NewSMTP never repeats the password
	}
	if u, err := url.Parse(c.Issuer); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		problems = append(problems, fmt.Errorf("issuer %q: the links latch mails need an https:// issuer (http:// is for localhost only)", c.Issuer))
	}
	return problems
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newMail builds the email side of latch: the templates (with the pages' brand), the sender
// (SMTP, or the log when no mail server is configured) and the queue that sends in the
// background. onResult receives every message the queue is done with.
func newMail(cfg Config, m *metrics.Metrics, log *slog.Logger, onResult func(mail.Message, error)) (*mail.Templates, *mail.Queue, error) {
	tm, err := mail.NewTemplates(mail.TemplateOptions{
		Brand: webOptions(cfg).Brand, BaseURL: cfg.Issuer, TemplatesDir: cfg.MailTemplatesDir,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("mail templates: %w", err)
	}
	var sender mail.Sender
	if cfg.SMTPURL == "" {
		sender = mail.NewLog(log)
	} else {
		s, err := mail.NewSMTP(mail.SMTPConfig{
			URL: cfg.SMTPURL, From: cfg.MailFrom, CAFile: cfg.SMTPCAFile, Timeout: time.Duration(cfg.SMTPTimeout),
		})
		if err != nil {
			return nil, nil, err
		}
		log.Info("sending email through a mail server", "server", s.String())
		sender = s
	}
	q := mail.NewQueue(sender, mail.QueueOptions{Recorder: m, OnResult: onResult, Log: log})
	return tm, q, nil
}

// emailSettings are the email flows' settings from the configuration. Signups are asked to
// verify their address by default when latch has a mail server: without one (development),
// the messages only reach the log.
func emailSettings(cfg Config) flow.EmailSettings {
	verify := cfg.MailVerifySignups == "true" || cfg.MailVerifySignups == "" && cfg.SMTPURL != ""
	return flow.EmailSettings{NoSignupVerification: !verify}
}

// ticketStore is the store's ticket keeping, or nil when the backend has none: then latch
// mails no links, and the endpoints that need them say so.
func ticketStore(store any, log *slog.Logger) storage.Tickets {
	t, ok := store.(storage.Tickets)
	if !ok {
		log.Warn("this store keeps no tickets: verification, password reset and unblock emails are off")
		return nil
	}
	return t
}

// closeMail waits for the email work of requests already answered, then sends what the
// queue holds, for at most mailCloseGrace.
func closeMail(svc *flow.Service, q *mail.Queue, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), mailCloseGrace)
	defer cancel()
	if err := svc.FinishEmail(ctx); err != nil {
		log.Error("finishing email work", "error", err)
	}
	if err := q.Close(ctx); err != nil {
		log.Error("sending the last emails", "error", err)
	}
}

// mailCloseGrace bounds the wait for the last emails at shutdown; a slow mail server must not
// hold a restart up for long (undelivered messages are logged and in the event log).
const mailCloseGrace = 10 * time.Second
