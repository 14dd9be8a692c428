package smtptest

import (
	"crypto/tls"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const msg = "Subject: hi\r\n\r\nbody\r\n"

// The server works with go-smtp's own client: records, fails on demand, requires AUTH.
func TestServer(t *testing.T) {
	s := Start(t, WithSTARTTLS(), WithAuth("u", "p"))
	u, err := url.Parse(s.URL())
	if err != nil || u.Scheme != "smtp" || u.User.Username() != "u" || u.Host != s.Addr() || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("URL %s, addr %s", s.URL(), s.Addr())
	}
	dial := func(t *testing.T) *smtp.Client {
		c, err := smtp.DialStartTLS(s.Addr(), &tls.Config{RootCAs: s.CertPool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// Without AUTH, MAIL is refused.
	c := dial(t)
	if err := c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader(msg)); err == nil {
		t.Fatal("a message was accepted without AUTH")
	}
	// A wrong password is refused.
	c = dial(t)
	var smtpErr *smtp.SMTPError
	if err := c.Auth(sasl.NewPlainClient("", "u", "wrong")); !errors.As(err, &smtpErr) || smtpErr.Code != 535 {
		t.Fatalf("AUTH with a wrong password: %v", err)
	}

	c = dial(t)
	if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
		t.Fatal(err)
	}
	s.FailNext(1, 452)
	if err := c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader(msg)); !errors.As(err, &smtpErr) || smtpErr.Code != 452 {
		t.Fatalf("FailNext(1, 452): %v", err)
	}
	if err := c.SendMail("a@x.test", []string{"b@y.test", "c@y.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	got := s.WaitFor(t, 1, 10*time.Second)
	if s.Attempts() != 2 || len(got) != 1 {
		t.Fatalf("attempts %d, messages %d; want 2 and 1", s.Attempts(), len(got))
	}
	r := got[0]
	if r.From != "a@x.test" || len(r.To) != 2 || r.To[1] != "c@y.test" || !r.TLS || r.User != "u" || string(r.Data) != msg {
		t.Errorf("received %+v", r)
	}
}

// Over plain TCP, the server offers no STARTTLS and the URL says so.
func TestPlainServer(t *testing.T) {
	s := Start(t)
	if !strings.HasSuffix(s.URL(), "?starttls=false") || s.CAFile() != "" {
		t.Errorf("URL %s, CA file %q", s.URL(), s.CAFile())
	}
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("a plain server offers STARTTLS")
	}
	if err := c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if got := s.WaitFor(t, 1, 10*time.Second); got[0].TLS {
		t.Error("a plain delivery is marked TLS")
	}
}

func TestFailNextRefusesNonErrorCodes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("FailNext(1, 250) did not panic")
		}
	}()
	Start(t).FailNext(1, 250)
}
