package mail_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/latchauth/latch/mail"
)

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	l := mail.NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))

	var records []map[string]any
	read := func() {
		records = nil
		for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			records = append(records, r)
		}
	}
	read()
	if len(records) != 1 || records[0]["level"] != "WARN" || !strings.Contains(records[0]["msg"].(string), "not configured") {
		t.Fatalf("NewLog logged %v, want one warning that mail is not configured", records)
	}

	m := renderFor(t, "zoe@example.test", "Zoé")
	if err := l.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	read()
	if len(records) != 2 {
		t.Fatalf("%d records, want 2", len(records))
	}
	r := records[1]
	if r["level"] != "INFO" || r["kind"] != mail.KindResetPassword || r["to"] != m.To || r["subject"] != m.Subject {
		t.Errorf("record %v lacks the kind, recipient or subject", r)
	}
	if text, _ := r["text"].(string); text != m.Text || !strings.Contains(text, testLink) {
		t.Errorf("the logged text is not the message's text with its link: %q", text)
	}

	err := l.Send(t.Context(), mail.Message{To: "a@x.test\r\nBcc: b@y.test", Subject: "S", Text: "T"})
	if !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("Send = %v, want ErrInvalidMessage", err)
	}
	read()
	if len(records) != 2 {
		t.Errorf("the refused message was logged: %v", records[2:])
	}
}
