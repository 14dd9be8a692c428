package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// maxLine is RFC 5322's hard limit on a line, without its CRLF.
const maxLine = 998

// compose writes m as an RFC 5322 message from from to to (both already validated), dated
// now: Date, From, To, Subject (RFC 2047 Q-encoded when not ASCII), Message-ID in the From
// domain, MIME-Version, Auto-Submitted, and a multipart/alternative body of quoted-printable
// UTF-8 parts (a single text/plain part when there is no HTML). Lines end in CRLF.
//
// Only these headers are written, and none is taken from m as it is: the recipient is
// re-formatted from its parsed form, the subject encoded. There is never a Cc or a Bcc.
func compose(from, to *mail.Address, m Message, now time.Time) ([]byte, error) {
	id, err := messageID(from.Address)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	header := func(name, value string) error {
		line := foldHeader(name + ": " + value)
		for _, l := range strings.Split(line, "\r\n") {
			if len(l) > maxLine {
				return fmt.Errorf("%w: the %s header is too long", ErrInvalidMessage, name)
			}
		}
		b.WriteString(line)
		b.WriteString("\r\n")
		return nil
	}
	for _, h := range [][2]string{
		{"Date", now.Format(time.RFC1123Z)},
		{"From", from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Message-ID", id},
		{"MIME-Version", "1.0"},
		// RFC 3834: no vacation responder should answer.
		{"Auto-Submitted", "auto-generated"},
	} {
		if err := header(h[0], h[1]); err != nil {
			return nil, err
		}
	}

	if m.HTML == "" {
		h := partHeader("text/plain")
		for _, name := range []string{"Content-Type", "Content-Transfer-Encoding"} {
			if err := header(name, h.Get(name)); err != nil {
				return nil, err
			}
		}
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()})); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	// Plain text first: the last alternative is the one a client prefers (RFC 2046, 5.1.4).
	for _, p := range []struct{ typ, content string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(partHeader(p.typ))
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, p.content); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

func partHeader(typ string) textproto.MIMEHeader {
	return textproto.MIMEHeader{
		"Content-Type":              {typ + "; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	}
}

// writeQP writes s quoted-printable, its line breaks as CRLF.
func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qw := quotedprintable.NewWriter(w)
	if _, err := qw.Write([]byte(s)); err != nil {
		return err
	}
	return qw.Close()
}

// messageID is a new <random@domain> for the domain of the From address, so that the id is
// unique and names the sender (RFC 5322, 3.6.4).
func messageID(fromAddress string) (string, error) {
	_, domain, ok := strings.Cut(fromAddress, "@")
	if !ok || domain == "" {
		return "", fmt.Errorf("%w: From %q has no domain", ErrInvalidMessage, fromAddress)
	}
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">", nil
}

// foldHeader folds a header line at spaces so that its lines stay near 78 characters (RFC
// 5322, 2.2.3). Folding inserts CRLF before an existing space, which unfolding removes again,
// so the value is unchanged; encoded words (at most 75 characters each, space-separated) and
// quoted strings fold the same way. A line without spaces stays long.
func foldHeader(line string) string {
	const width = 78
	if len(line) <= width {
		return line
	}
	var out strings.Builder
	cur := 0         // length of the current output line
	hasText := false // whether it holds more than white space: a line of only WSP may not be folded off
	for i, word := range strings.Split(line, " ") {
		if i > 0 {
			if cur+1+len(word) > width && hasText {
				out.WriteString("\r\n")
				cur, hasText = 0, false
			}
			out.WriteByte(' ')
			cur++
		}
		out.WriteString(word)
		cur += len(word)
		hasText = hasText || word != ""
	}
	return out.String()
}
