// Package mail sends latch's email to its users: the message to verify an address after
// signup, the password-reset link, the notice that a password changed, and the notice that
// brute-force protection blocked an account (with its unblock link).
//
// It has three parts, each usable alone:
//   - Templates renders a message of a kind in a locale, with the hosted pages' brand and
//     catalogue languages: a plain-text body, an HTML alternative (inline styles only, as mail
//     clients want) and a subject. A deployment may replace any template (TemplatesDir).
//   - Senders deliver one message: SMTP (STARTTLS or implicit TLS, AUTH PLAIN or LOGIN only
//     over TLS) and, when no mail server is configured, Log, which writes the message to the
//     log so that a developer's laptop needs no mail server.
//   - Queue sends in the background, so that a slow or broken mail server never slows a
//     request down: a bounded queue, a few workers, retries with exponential backoff.
//
// Every sender refuses a message that could smuggle headers: one recipient, no control
// character in the recipient or the subject (Message.Validate). The package never adds a Cc
// or a Bcc, and never takes headers from its input.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Message is one email to one recipient. Senders build the MIME message from it: a
// multipart/alternative of Text and HTML (or Text alone when HTML is empty).
type Message struct {
	// To is the one recipient: "user@example.com" or "Name <user@example.com>" (RFC 5322; the
	// name may be quoted or RFC 2047-encoded). A list, a group or a second address is refused.
	To string
	// Subject is plain text, UTF-8, on one line.
	Subject string
	// Text is the plain-text body (required). HTML is the optional HTML alternative.
	Text string
	HTML string
	// Kind names the message for logs and metrics (KindVerifyEmail, ...); it is no header.
	Kind string
}

// Sender delivers one message. Implementations validate the message first (Validate) and
// send nothing when it is refused.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// The kinds of message latch sends; each has a template (Templates.Render).
const (
	KindVerifyEmail     = "verify-email"
	KindResetPassword   = "reset-password"
	KindPasswordChanged = "password-changed"
	KindBlockedAccount  = "blocked-account"
)

// kinds lists the kinds of message, in a fixed order.
var kinds = [...]string{KindVerifyEmail, KindResetPassword, KindPasswordChanged, KindBlockedAccount}

// Kinds lists the kinds of message, in a fixed order (a new slice each call).
func Kinds() []string { return slices.Clone(kinds[:]) }

// Sentinel errors, wrapped with %w and context; compare with errors.Is.
var (
	// ErrInvalidMessage: the message was refused before any connection (a control character
	// in a header, a malformed or second recipient, an empty body...). Sending it again
	// cannot help.
	ErrInvalidMessage = errors.New("mail: invalid message")
	// ErrRejected: the mail server refused the message for good (an SMTP 5xx reply). The
	// *smtp.SMTPError of github.com/emersion/go-smtp is wrapped too, for its code.
	ErrRejected = errors.New("mail: rejected by the mail server")
	// ErrInsecure: sending would have needed a connection latch refuses, such as a password
	// sent in clear or a server that does not offer the STARTTLS it was configured with.
	ErrInsecure = errors.New("mail: insecure connection refused")
	// ErrUnsupported: the mail server lacks something latch needs (an AUTH mechanism it
	// knows: PLAIN or LOGIN).
	ErrUnsupported = errors.New("mail: not supported by the mail server")
	// ErrQueueFull: Queue.Send found the queue full; the message was dropped.
	ErrQueueFull = errors.New("mail: queue full")
	// ErrClosed: the queue is closed, or closed before the message could be sent.
	ErrClosed = errors.New("mail: queue closed")
)

// Permanent reports whether a send failed in a way that trying again cannot fix: an invalid
// message, a permanent refusal of the server, an insecure or unsupported server. Network
// errors, timeouts and temporary (4xx) replies are not permanent.
func Permanent(err error) bool {
	return errors.Is(err, ErrInvalidMessage) || errors.Is(err, ErrRejected) ||
		errors.Is(err, ErrInsecure) || errors.Is(err, ErrUnsupported)
}

// Limits of a message's header fields. A subject or a recipient this long is a bug, not a
// user's data; Render keeps long user names out of To.
const (
	maxSubjectRunes = 255
	maxAddressBytes = 254 // RFC 5321's limit on a forward path, less the angle brackets
	maxToBytes      = 512
	maxKindBytes    = 64
)

// plainAddress is the address forms latch sends to: a dot-atom local part and a host name.
// Quoted local parts, domain literals and non-ASCII addresses (which need SMTPUTF8) are
// refused: they would need care in the envelope that no user of latch needs.
var plainAddress = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" +
	`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

var kindPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate checks that m can be sent safely: exactly one well-formed recipient, a subject and
// a recipient free of control characters (so no header can be smuggled in), a body, and
// valid UTF-8 everywhere. The error wraps ErrInvalidMessage.
func (m Message) Validate() error {
	_, err := m.recipient()
	return err
}

// recipient validates m and returns its parsed recipient.
func (m Message) recipient() (*mail.Address, error) {
	to, err := ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	if len(m.To) > maxToBytes {
		return nil, fmt.Errorf("%w: To is longer than %d bytes", ErrInvalidMessage, maxToBytes)
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		return nil, fmt.Errorf("%w: empty subject", ErrInvalidMessage)
	case !utf8.ValidString(m.Subject):
		return nil, fmt.Errorf("%w: the subject is not valid UTF-8", ErrInvalidMessage)
	case hasControl(m.Subject):
		return nil, fmt.Errorf("%w: the subject contains a control character", ErrInvalidMessage)
	case utf8.RuneCountInString(m.Subject) > maxSubjectRunes:
		return nil, fmt.Errorf("%w: the subject is longer than %d characters", ErrInvalidMessage, maxSubjectRunes)
	case strings.TrimSpace(m.Text) == "":
		return nil, fmt.Errorf("%w: empty text body", ErrInvalidMessage)
	case !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML):
		return nil, fmt.Errorf("%w: the body is not valid UTF-8", ErrInvalidMessage)
	case m.Kind != "" && (len(m.Kind) > maxKindBytes || !kindPattern.MatchString(m.Kind)):
		return nil, fmt.Errorf("%w: kind %q is not a lower-case name", ErrInvalidMessage, m.Kind)
	}
	return to, nil
}

// ParseAddress parses one address ("user@example.com" or "Name <user@example.com>") the way
// the senders do: a control character anywhere (CR and LF above all, before or after RFC 2047
// decoding), a list, a group, or an address outside the plain local@host form is refused with
// ErrInvalidMessage. The configured From address goes through it too.
func ParseAddress(s string) (*mail.Address, error) {
	switch {
	case strings.TrimSpace(s) == "":
		return nil, fmt.Errorf("%w: empty address", ErrInvalidMessage)
	case !utf8.ValidString(s):
		return nil, fmt.Errorf("%w: the address is not valid UTF-8", ErrInvalidMessage)
	case hasControl(s):
		return nil, fmt.Errorf("%w: the address contains a control character", ErrInvalidMessage)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not one address: %v", ErrInvalidMessage, err)
	}
	if hasControl(a.Name) || !utf8.ValidString(a.Name) {
		return nil, fmt.Errorf("%w: the display name contains a control character", ErrInvalidMessage)
	}
	if len(a.Address) > maxAddressBytes || !plainAddress.MatchString(a.Address) {
		return nil, fmt.Errorf("%w: %q is not a plain ASCII local@host address", ErrInvalidMessage, a.Address)
	}
	return a, nil
}

// hasControl reports whether s holds a character that has no place in a header: C0 and C1
// controls (CR, LF, NUL, TAB...), DEL, and the Unicode line and paragraph separators.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}
