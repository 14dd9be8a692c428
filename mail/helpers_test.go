package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/latchauth/latch/internal/smtptest"
	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/web"
)

const testFrom = `"Acme Support" <no-reply@acme.test>`

func newTemplates(t testing.TB) *mail.Templates {
	t.Helper()
	tm, err := mail.NewTemplates(mail.TemplateOptions{Brand: web.Brand{Name: "Acme", PrimaryColor: "#0a7"}})
	if err != nil {
		t.Fatalf("NewTemplates: %v", err)
	}
	return tm
}

// newSMTP is a sender to srv that trusts its certificate.
func newSMTP(t testing.TB, srv *smtptest.Server) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: srv.URL(), From: testFrom, CAFile: srv.CAFile()})
	if err != nil {
		t.Fatalf("NewSMTP(%s): %v", srv.URL(), err)
	}
	return s
}

// parsed is a received message, parsed as a mail client would.
type parsed struct {
	header    netmail.Header
	subject   string // decoded
	mediaType string
	text      string // decoded, line ends as \n
	html      string
	parts     int
}

func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	p := parsed{header: msg.Header}
	p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q does not decode: %v", msg.Header.Get("Subject"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	p.mediaType = mediaType
	readPart := func(h interface{ Get(string) string }, body io.Reader) (string, string) {
		typ, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		if params["charset"] != "utf-8" {
			t.Errorf("part %s has charset %q, want utf-8", typ, params["charset"])
		}
		if cte := h.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %s has Content-Transfer-Encoding %q, want quoted-printable", typ, cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(body))
		if err != nil {
			t.Fatalf("part %s: quoted-printable: %v", typ, err)
		}
		return typ, strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if mediaType != "multipart/alternative" {
		typ, body := readPart(msg.Header, msg.Body)
		if typ == "text/plain" {
			p.text, p.parts = body, 1
		}
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart() // raw: the test decodes quoted-printable itself
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		p.parts++
		typ, body := readPart(part.Header, part)
		switch typ {
		case "text/plain":
			p.text = body
		case "text/html":
			p.html = body
		default:
			t.Errorf("unexpected part %s", typ)
		}
	}
	return p
}

// counter is a Recorder that counts outcomes and reports each on a channel.
type counter struct {
	mu     sync.Mutex
	counts map[string]int // kind/outcome
	events chan string
}

func newCounter() *counter {
	return &counter{counts: map[string]int{}, events: make(chan string, 1000)}
}

func (c *counter) Mail(kind, outcome string) {
	c.mu.Lock()
	c.counts[kind+"/"+outcome]++
	c.mu.Unlock()
	c.events <- outcome
}

func (c *counter) get(kind, outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[kind+"/"+outcome]
}
