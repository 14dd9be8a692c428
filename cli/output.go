package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// writeJSON prints v as indented JSON. A json.RawMessage is printed as latch sent it
// (indented), so no field the CLI does not know is lost.
func writeJSON(w io.Writer, v any) error {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return fmt.Errorf("latch's answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLine prints v on one line (NDJSON: logs tail streams events this way).
func writeJSONLine(w io.Writer, v any) error {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// compactJSON is v on one line, for text output of metadata.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(buf.String())
}

// progressBar draws one line on a terminal, redrawn in place.
type progressBar struct {
	w     io.Writer
	drawn bool
}

func (p *progressBar) draw(status string, percent int, left time.Duration) {
	const width = 30
	percent = max(0, min(100, percent))
	filled := width * percent / 100
	line := fmt.Sprintf("\r[%s%s] %3d%%  %-10s", strings.Repeat("#", filled), strings.Repeat("-", width-filled), percent, status)
	if left > 0 {
		line += fmt.Sprintf(" ~%v left", left)
	}
	fmt.Fprintf(p.w, "%s\033[K", line)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
