// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) inside a test, on
// 127.0.0.1, that records every message it accepts. It can offer STARTTLS or implicit TLS with
// a self-signed certificate made at start, require AUTH (PLAIN, or LOGIN), fail the next
// deliveries with a chosen reply code, and hold deliveries until released.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the server accepted.
type Received struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO), in order
	Data []byte   // the message as sent, headers and body, CRLF line ends
	// TLS reports whether the message came over TLS (STARTTLS or implicit).
	TLS bool
	// User is the name the client authenticated as; empty without AUTH.
	User string
}

type tlsMode int

const (
	plain tlsMode = iota
	startTLS
	implicitTLS
)

type config struct {
	mode       tlsMode
	user, pass string
	mechs      []string
}

// Option configures Start.
type Option func(*config)

// WithSTARTTLS makes the server offer STARTTLS, with a self-signed certificate for 127.0.0.1
// and localhost (CAFile, CertPool).
func WithSTARTTLS() Option { return func(c *config) { c.mode = startTLS } }

// WithImplicitTLS makes the server speak TLS from the start (smtps://).
func WithImplicitTLS() Option { return func(c *config) { c.mode = implicitTLS } }

// WithAuth makes the server require AUTH with this user and password before MAIL FROM. AUTH
// is offered over TLS only, unless the server has no TLS at all (then it is offered in clear,
// to test that a client on loopback may use it).
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithAuthMechanisms chooses the AUTH mechanisms offered, among "PLAIN" (the default) and
// "LOGIN".
func WithAuthMechanisms(mechs ...string) Option {
	return func(c *config) { c.mechs = mechs }
}

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	cfg    config
	srv    *smtp.Server
	addr   string
	caFile string
	pool   *x509.CertPool

	mu       sync.Mutex
	msgs     []Received
	attempts int
	failLeft int
	failCode int
	hold     chan struct{} // while non-nil, deliveries wait for it to be closed
	changed  chan struct{} // closed and replaced whenever a message arrives
}

// Start starts a server on 127.0.0.1 at a free port; it stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{cfg: config{mechs: []string{sasl.Plain}}, changed: make(chan struct{})}
	for _, o := range opts {
		o(&s.cfg)
	}

	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 50
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = s.cfg.mode == plain

	var ln net.Listener
	var err error
	if s.cfg.mode != plain {
		cert, certPEM := selfSigned(t)
		s.caFile = filepath.Join(t.TempDir(), "smtptest-ca.pem")
		if err := os.WriteFile(s.caFile, certPEM, 0o600); err != nil {
			t.Fatalf("smtptest: %v", err)
		}
		s.pool = x509.NewCertPool()
		s.pool.AppendCertsFromPEM(certPEM)
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if s.cfg.mode == implicitTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", s.srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.release()
		s.srv.Close()
		// Close closes the listeners Serve has registered: if Serve has not run yet, it has
		// none, so the listener is closed here too.
		ln.Close()
		<-served
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the server as latch's smtp_url says it: smtp:// with STARTTLS, smtps:// with
// implicit TLS, smtp://…?starttls=false without TLS; with the user and password of WithAuth.
// The certificate is self-signed: give the client CAFile (or CertPool) to trust it.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.cfg.mode == implicitTLS {
		u.Scheme = "smtps"
	}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	if s.cfg.mode == plain {
		u.RawQuery = "starttls=false"
	}
	return u.String()
}

// CAFile is the path of the server's certificate in PEM (empty without TLS).
func (s *Server) CAFile() string { return s.caFile }

// CertPool holds the server's certificate (nil without TLS).
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	for i, m := range s.msgs {
		m.To = append([]string(nil), m.To...)
		m.Data = bytes.Clone(m.Data)
		out[i] = m
	}
	return out
}

// Attempts is how many messages clients have sent (reached the end of DATA), whether the
// server accepted them or failed them on purpose.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// WaitFor waits until the server has accepted at least n messages and returns them. The
// timeout only keeps a broken test from hanging: reaching it fails the test.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: %d messages after %v, want %d", got, timeout, n)
		}
	}
}

// FailNext makes the next n deliveries fail at the end of DATA with code (a 4xx temporary or
// 5xx permanent reply). Failed deliveries count in Attempts, not in Messages.
func (s *Server) FailNext(n, code int) {
	if code < 400 || code > 599 {
		panic("smtptest: FailNext code " + strconv.Itoa(code) + " is no 4xx or 5xx reply")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failCode = n, code
}

// Hold makes new transactions wait at MAIL FROM, before the client has sent any of its
// message, until the returned function is called (the end of the test calls it too). A
// client that gives up meanwhile delivers nothing.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
	return s.release
}

func (s *Server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
}

// session is one client connection.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.cfg.user == "" {
		return nil
	}
	return ss.s.cfg.mechs
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.cfg.user == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	check := func(user, pass string) error {
		okUser := subtle.ConstantTimeCompare([]byte(user), []byte(ss.s.cfg.user)) == 1
		okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(ss.s.cfg.pass)) == 1
		if !okUser || !okPass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	for _, m := range ss.s.cfg.mechs {
		if m != mech {
			continue
		}
		switch mech {
		case sasl.Plain:
			return sasl.NewPlainServer(func(identity, user, pass string) error {
				if identity != "" && identity != user {
					return smtp.ErrAuthFailed
				}
				return check(user, pass)
			}), nil
		case sasl.Login:
			return &loginServer{check: check}, nil
		}
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	hold := ss.s.hold
	ss.s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if ss.s.cfg.user != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()

	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.failLeft > 0 {
		s.failLeft--
		return &smtp.SMTPError{
			Code:         s.failCode,
			EnhancedCode: smtp.EnhancedCode{s.failCode / 100, 0, 0},
			Message:      "smtptest: failing this delivery on purpose",
		}
	}
	s.msgs = append(s.msgs, Received{From: ss.from, To: append([]string(nil), ss.to...), Data: data, TLS: isTLS, User: ss.user})
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism: user name, then password, each
// after its prompt (the user name may come as the initial response).
type loginServer struct {
	check func(user, pass string) error
	user  *string
	done  bool
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case l.done:
		return nil, false, sasl.ErrUnexpectedClientResponse
	case l.user == nil && response == nil:
		return []byte("Username:"), false, nil
	case l.user == nil:
		u := string(response)
		l.user = &u
		return []byte("Password:"), false, nil
	default:
		l.done = true
		return nil, true, l.check(*l.user, string(response))
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for the test's day.
func selfSigned(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	return cert, certPEM
}
