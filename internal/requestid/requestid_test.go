package requestid

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerAddsTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewTextHandler(&buf, nil))).With("component", "test")
	log.InfoContext(With(context.Background(), "abc123"), "with id")
	log.InfoContext(context.Background(), "without id")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "request_id=abc123") || !strings.Contains(lines[0], "component=test") {
		t.Fatalf("first record: %q", lines)
	}
	if strings.Contains(lines[1], "request_id") {
		t.Fatalf("second record has an id: %q", lines[1])
	}
	if From(context.Background()) != "" || From(With(context.Background(), "x")) != "x" {
		t.Fatal("From")
	}
}
