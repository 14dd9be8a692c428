package mail

import (
	"context"
	"log/slog"
)

// Log is the sender used when no mail server is configured: it writes each message to the
// log instead (kind, recipient, subject and text body, at info level), so that latch runs on a
// developer's laptop with nothing else, and the developer can follow a verification or reset
// link from the log.
//
// This is the one place where latch logs such a link, and it is acceptable only because Log
// is a development tool: a link is a single-use, short-lived credential for one account, and
// whoever reads the log could use it. NewLog warns, once, that mail is not configured; a
// production deployment sets smtp_url and never uses Log.
type Log struct {
	log *slog.Logger
}

// NewLog returns a Log writing to log (nil: slog.Default()) and logs the warning that mail is
// not configured.
func NewLog(log *slog.Logger) *Log {
	if log == nil {
		log = slog.Default()
	}
	log.Warn("mail is not configured (no smtp_url): emails are written to this log instead of being sent, links included; for development only")
	return &Log{log: log}
}

// Send validates m (as every sender does, so that a message refused in production is refused
// here too) and logs it.
func (l *Log) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	l.log.InfoContext(ctx, "mail not sent (no smtp_url): logged instead",
		slog.String("kind", m.Kind), slog.String("to", m.To),
		slog.String("subject", m.Subject), slog.String("text", m.Text))
	return nil
}
