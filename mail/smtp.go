package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// DefaultTimeout bounds dialing and each SMTP command when SMTPConfig.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// SMTPConfig configures NewSMTP.
type SMTPConfig struct {
	// URL names the mail server (the smtp_url setting):
	//
	//	smtp://[user:password@]host[:port]    STARTTLS, required (port 587 by default)
	//	smtps://[user:password@]host[:port]   implicit TLS (port 465 by default)
	//
	// Query parameters: starttls=false sends in clear, and is accepted only for a loopback
	// host (a local relay, a test server); insecure_skip_verify=true accepts any server
	// certificate, for tests and development only. User and password must be
	// percent-encoded. The URL holds a secret: keep it out of logs (SMTP.String redacts it).
	URL string
	// From is the sender of every message (mail_from): "Acme <no-reply@acme.test>" or a bare
	// address. Its domain names the Message-IDs.
	From string
	// CAFile, when set, is a PEM file of the certificate authorities to trust for the server's
	// certificate instead of the system's (a relay with a private CA).
	CAFile string
	// Timeout bounds dialing, the TLS handshake and each SMTP command, the end of DATA
	// included (default DefaultTimeout). The context given to Send bounds the whole exchange.
	Timeout time.Duration
	// HelloName is the name latch gives in EHLO after TLS is up (default: the machine's host
	// name, else "localhost"). The EHLO before STARTTLS always says "localhost".
	HelloName string
}

// SMTP sends each message over its own connection to one mail server (a relay or a
// submission service). It is safe for concurrent use.
type SMTP struct {
	addr        string // host:port
	host        string
	implicitTLS bool
	startTLS    bool
	tlsConfig   *tls.Config
	username    string
	password    string
	from        *mail.Address
	timeout     time.Duration
	helloName   string
	redacted    string
}

// NewSMTP checks the configuration (it does not connect). Besides malformed values, it
// refuses starttls=false for a host that is not loopback (wrapping ErrInsecure): a password,
// and the links the messages carry, must not cross a network in clear.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp_url: %w", redactURLError(err))
	}
	s := &SMTP{timeout: c.Timeout, helloName: c.HelloName}
	switch u.Scheme {
	case "smtp":
		s.startTLS = true
	case "smtps":
		s.implicitTLS = true
	default:
		return nil, fmt.Errorf("mail: smtp_url: scheme %q: want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, errors.New("mail: smtp_url: want scheme://[user:password@]host[:port][?options], no path or fragment")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: smtp_url: no host")
	}
	port := u.Port()
	if port == "" {
		port = "587"
		if s.implicitTLS {
			port = "465"
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("mail: smtp_url: port %q is not a port number", port)
	}
	s.addr = net.JoinHostPort(s.host, port)

	if u.User != nil {
		s.username = u.User.Username()
		s.password, _ = u.User.Password()
		if s.username == "" {
			return nil, errors.New("mail: smtp_url: a password without a user name")
		}
		// PLAIN separates its fields with NUL; LOGIN sends each on one line.
		if strings.ContainsAny(s.username+s.password, "\x00\r\n") {
			return nil, errors.New("mail: smtp_url: the user name or password contains NUL, CR or LF")
		}
	}

	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp_url: query: %w", err)
	}
	for key, values := range query {
		if len(values) != 1 {
			return nil, fmt.Errorf("mail: smtp_url: %s is given %d times", key, len(values))
		}
		v, err := strconv.ParseBool(values[0])
		if err != nil {
			return nil, fmt.Errorf("mail: smtp_url: %s=%q: want true or false", key, values[0])
		}
		switch key {
		case "starttls":
			if s.implicitTLS {
				return nil, errors.New("mail: smtp_url: starttls is for smtp://; smtps:// is TLS from the start")
			}
			s.startTLS = v
		case "insecure_skip_verify":
			s.tlsConfig.InsecureSkipVerify = v
		default:
			return nil, fmt.Errorf("mail: smtp_url: unknown option %q (known: starttls, insecure_skip_verify)", key)
		}
	}
	if !s.startTLS && !s.implicitTLS && !loopbackHost(s.host) {
		return nil, fmt.Errorf("mail: smtp_url: %w: starttls=false is only accepted for a loopback host, not %q", ErrInsecure, s.host)
	}

	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mail: smtp CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mail: smtp CA file %s: no PEM certificate in it", c.CAFile)
		}
		s.tlsConfig.RootCAs = pool
	}

	if c.From == "" {
		return nil, errors.New("mail: mail_from: empty (want an address such as \"Acme <no-reply@acme.test>\")")
	}
	s.from, err = ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("mail: mail_from: %w", err)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.helloName == "" {
		s.helloName = defaultHelloName()
	}
	if strings.ContainsAny(s.helloName, " \t\r\n") {
		return nil, fmt.Errorf("mail: hello name %q contains white space", s.helloName)
	}

	r := *u
	if u.User != nil {
		r.User = url.User(s.username) // never the password
	}
	s.redacted = r.Redacted()
	return s, nil
}

// String describes the server for the start-up log, without the password.
func (s *SMTP) String() string {
	mode := "STARTTLS"
	switch {
	case s.implicitTLS:
		mode = "TLS"
	case !s.startTLS:
		mode = "no TLS (loopback)"
	}
	if s.tlsConfig.InsecureSkipVerify {
		mode += ", certificate not verified"
	}
	return s.redacted + " (" + mode + ")"
}

// Send delivers m over a new connection: dial, TLS, EHLO, AUTH (when the URL has a user),
// MAIL FROM, one RCPT TO, DATA, QUIT. A permanent (5xx) reply wraps ErrRejected and the
// server's *smtp.SMTPError; other failures are worth retrying (see Permanent). Cancelling ctx
// aborts the exchange.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := m.recipient()
	if err != nil {
		return err
	}
	raw, err := compose(s.from, to, m, time.Now())
	if err != nil {
		return err
	}

	conn, err := s.dial(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("mail: connect to %s: %w (%v)", s.addr, ctxErr, err)
		}
		return fmt.Errorf("mail: connect to %s: %w", s.addr, err)
	}
	// The client sets its own deadlines per command; closing the connection is what stops it
	// when ctx ends first.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	err = s.deliver(conn, to.Address, raw)
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
		return fmt.Errorf("mail: send to %s: %w (%v)", s.addr, ctxErr, err)
	}
	return err
}

func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.timeout}
	if !s.implicitTLS {
		return d.DialContext(ctx, "tcp", s.addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig}
	return td.DialContext(ctx, "tcp", s.addr)
}

// deliver runs the SMTP exchange on conn and closes it.
func (s *SMTP) deliver(conn net.Conn, to string, raw []byte) error {
	var c *smtp.Client
	if s.startTLS {
		var err error
		c, err = smtp.NewClientStartTLS(conn, s.tlsConfig)
		if err != nil {
			conn.Close()
			// go-smtp says so in words only; TestSTARTTLSRequired keeps this in step with it.
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return fmt.Errorf("mail: %s: %w: the server does not offer STARTTLS", s.addr, ErrInsecure)
			}
			return s.wrap("STARTTLS", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout = s.timeout
	c.SubmissionTimeout = s.timeout

	if err := c.Hello(s.helloName); err != nil {
		return s.wrap("EHLO", err)
	}
	if s.username != "" {
		if err := s.auth(c, conn); err != nil {
			return err
		}
	}
	// One transaction, one recipient: the envelope never holds anyone the headers do not.
	if err := c.Mail(s.from.Address, nil); err != nil {
		return s.wrap("MAIL FROM", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return s.wrap("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return s.wrap("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		w.Close()
		return s.wrap("DATA", err)
	}
	if err := w.Close(); err != nil {
		return s.wrap("end of DATA", err)
	}
	// The message is accepted; a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// auth authenticates with PLAIN, else LOGIN, and only over TLS or to a loopback address:
// whatever the configuration said, a password is never sent in clear across a network.
func (s *SMTP) auth(c *smtp.Client, conn net.Conn) error {
	if _, isTLS := c.TLSConnectionState(); !isTLS && !loopbackAddr(conn.RemoteAddr()) {
		return fmt.Errorf("mail: %s: %w: AUTH without TLS to a non-loopback address", s.addr, ErrInsecure)
	}
	var client sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		client = sasl.NewPlainClient("", s.username, s.password)
	case c.SupportsAuth(sasl.Login):
		client = sasl.NewLoginClient(s.username, s.password)
	default:
		return fmt.Errorf("mail: %s: %w: no AUTH PLAIN or LOGIN", s.addr, ErrUnsupported)
	}
	if err := c.Auth(client); err != nil {
		return s.wrap("AUTH", err)
	}
	return nil
}

// wrap adds the step and the server to err, and ErrRejected when the server's reply was
// permanent (5xx).
func (s *SMTP) wrap(step string, err error) error {
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) && smtpErr.Code >= 500 && smtpErr.Code < 600 {
		return fmt.Errorf("mail: %s: %s: %w: %w", s.addr, step, ErrRejected, err)
	}
	return fmt.Errorf("mail: %s: %s: %w", s.addr, step, err)
}

// loopbackHost reports whether host names this machine: "localhost" or a loopback IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func defaultHelloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \t\r\n") {
		return "localhost"
	}
	return h
}

// redactURLError keeps a password out of a URL parse error, which quotes the URL.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
