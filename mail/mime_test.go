package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func mustAddress(t *testing.T, s string) *mail.Address {
	t.Helper()
	a, err := ParseAddress(s)
	if err != nil {
		t.Fatalf("ParseAddress(%q): %v", s, err)
	}
	return a
}

func TestComposeMultipart(t *testing.T) {
	from := mustAddress(t, `"Acme Support" <no-reply@acme.test>`)
	// A name with quotes, a comma and accents: it must come back the same from the header.
	to := &mail.Address{Name: `Zoé "Z", d'Arc`, Address: "zoe@example.test"}
	subject := "Réinitialisez votre mot de passe — " + strings.Repeat("très long sujet ", 8)
	text := "Bonjour,\n\n.leading dot line\nhttps://acme.test/r?t=abc&x=1\nFrom the start\n" + strings.Repeat("x", 200) + "\n"
	htmlBody := "<p>Bonjour &amp; bienvenue — <a href=\"https://acme.test/r?t=abc&amp;x=1\">ici</a></p>\n"
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

	raw, err := compose(from, to, Message{To: to.String(), Subject: subject, Text: text, HTML: htmlBody}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d is %d characters long: %q", i, len(line), line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, line)
		}
	}
	for _, b := range raw {
		if b >= 0x80 {
			t.Fatalf("the message is not 7-bit: byte %#x", b)
		}
	}

	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	wantKeys := []string{"Date", "From", "To", "Subject", "Message-Id", "Mime-Version", "Auto-Submitted", "Content-Type"}
	if len(h) != len(wantKeys) {
		t.Errorf("headers %v, want exactly %v", h, wantKeys)
	}
	for _, k := range wantKeys {
		if len(h[k]) != 1 {
			t.Errorf("header %s appears %d times, want once", k, len(h[k]))
		}
	}
	if d, err := h.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date = %v, %v; want %v", d, err, now)
	}
	gotTo, err := h.AddressList("To")
	if err != nil || len(gotTo) != 1 || gotTo[0].Name != to.Name || gotTo[0].Address != to.Address {
		t.Errorf("To = %v, %v; want %v", gotTo, err, to)
	}
	gotFrom, err := h.AddressList("From")
	if err != nil || len(gotFrom) != 1 || gotFrom[0].Name != "Acme Support" || gotFrom[0].Address != "no-reply@acme.test" {
		t.Errorf("From = %v, %v", gotFrom, err)
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || s != subject {
		t.Errorf("Subject decodes to %q, %v; want %q", s, err, subject)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@acme.test>") || len(id) < 30 {
		t.Errorf("Message-ID %q: want <random@acme.test>", id)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Errorf("MIME-Version %q", h.Get("Mime-Version"))
	}

	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types, bodies []string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part %s: Content-Transfer-Encoding %q", p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
	if len(types) != 2 || types[0] != "text/plain; charset=utf-8" || types[1] != "text/html; charset=utf-8" {
		t.Fatalf("parts %v, want text/plain then text/html, both utf-8", types)
	}
	if bodies[0] != text || bodies[1] != htmlBody {
		t.Errorf("parts decode to\n%q\n%q\nwant\n%q\n%q", bodies[0], bodies[1], text, htmlBody)
	}
}

func TestComposeTextOnly(t *testing.T) {
	from := mustAddress(t, "no-reply@acme.test")
	to := mustAddress(t, "a@x.test")
	raw, err := compose(from, to, Message{To: "a@x.test", Subject: "Hi", Text: "Line one\nLine two\n"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/plain; charset=utf-8", ct)
	}
	b, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if string(b) != "Line one\r\nLine two\r\n" {
		t.Errorf("body %q", b)
	}
}

// Two messages never share a Message-ID.
func TestMessageIDUnique(t *testing.T) {
	a, _ := messageID("x@acme.test")
	b, _ := messageID("x@acme.test")
	if a == b {
		t.Errorf("two Message-IDs are equal: %s", a)
	}
	if _, err := messageID("no-domain"); err == nil {
		t.Error("a From address without a domain gave a Message-ID")
	}
}

func TestFoldHeader(t *testing.T) {
	long := "Subject: " + strings.Repeat("word ", 40) + "end"
	folded := foldHeader(long)
	if strings.ReplaceAll(folded, "\r\n", "") != long {
		t.Errorf("unfolding does not give the line back:\n%q", folded)
	}
	for _, l := range strings.Split(folded, "\r\n") {
		if len(l) > 78 || strings.TrimSpace(l) == "" {
			t.Errorf("folded line %q: too long or only white space", l)
		}
	}
	// Runs of spaces never leave a line of white space alone.
	spaces := "To: " + strings.Repeat("a", 70) + strings.Repeat(" ", 5) + strings.Repeat("b", 70)
	for _, l := range strings.Split(foldHeader(spaces), "\r\n") {
		if strings.TrimSpace(l) == "" {
			t.Errorf("a folded line is only white space: %q", foldHeader(spaces))
		}
	}
	if got := foldHeader("Subject: short"); got != "Subject: short" {
		t.Errorf("a short line was folded: %q", got)
	}
}
