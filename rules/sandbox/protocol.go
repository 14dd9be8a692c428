package sandbox

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/latchauth/latch/rules"
)

// The wire between the pool and a worker: on each pipe a sequence of frames, each a 4-byte
// big-endian length followed by that many bytes of JSON. Decoding uses UseNumber everywhere,
// so numbers in metadata and claims arrive as json.Number, exact (storage.Metadata's
// convention).

// protocolVersion changes whenever the frames do; a worker of another version is refused
// (it can only be a different executable than the parent's, e.g. replaced on disk).
const protocolVersion = 1

// Frame types.
const (
	frameConfig = "config" // pool → worker, first: how to set itself up
	frameReady  = "ready"  // worker → pool, once: set up (or not, with Err)
	frameRun    = "run"    // pool → worker: run Request
	frameCancel = "cancel" // pool → worker: the caller's context of run ID is done
	frameResult = "result" // worker → pool: the result of run ID
)

// toWorker is a frame the pool sends.
type toWorker struct {
	Type    string         `json:"type"`
	ID      uint64         `json:"id,omitempty"`
	Config  *workerConfig  `json:"config,omitempty"`
	Request *rules.Request `json:"request,omitempty"`
	// Deadline is the caller's context deadline (Unix nanoseconds), 0 for none.
	Deadline int64 `json:"deadline,omitempty"`
}

// fromWorker is a frame a worker sends.
type fromWorker struct {
	Type     string          `json:"type"`
	ID       uint64          `json:"id,omitempty"`
	Version  int             `json:"version,omitempty"`
	Response *rules.Response `json:"response,omitempty"`
	// Err is the error Run returned, as text; ErrCause is "canceled" or "deadline" when it
	// was the context's.
	Err      string `json:"err,omitempty"`
	ErrCause string `json:"err_cause,omitempty"`
	// Retire asks the pool to replace this worker (its state can no longer be trusted).
	Retire bool `json:"retire,omitempty"`
}

// workerConfig is what a worker needs to know, sent in the first frame.
type workerConfig struct {
	MemoryLimit      int64  `json:"memory_limit"`
	MaxStack         int    `json:"max_stack"`
	GOMAXPROCS       int    `json:"gomaxprocs"`
	MaxResponseBytes int    `json:"max_response_bytes"`
	Engine           []byte `json:"engine,omitempty"` // engine options, see engine.go
	// Test holds the settings of test-only worker modes; ignored by the real worker.
	Test map[string]string `json:"test,omitempty"`
}

// maxFrame bounds any frame's length, whatever the limits say.
const maxFrame = 1 << 30

// errFrameTooLarge is a frame longer than the reader accepts.
type errFrameTooLarge struct{ n, max uint64 }

func (e errFrameTooLarge) Error() string {
	return fmt.Sprintf("frame of %d bytes, over the limit of %d", e.n, e.max)
}

// writeFrame encodes v and writes it as one frame.
func writeFrame(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeRaw(w, data)
}

func writeRaw(w io.Writer, data []byte) error {
	if len(data) > maxFrame {
		return errFrameTooLarge{uint64(len(data)), maxFrame}
	}
	buf := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(buf, uint32(len(data)))
	copy(buf[4:], data)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one frame of at most max bytes into v.
func readFrame(r *bufio.Reader, max int, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return errFrameTooLarge{uint64(n), uint64(max)}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return decodeFrame(buf, v)
}

// decodeFrame decodes the JSON of one frame, numbers as json.Number.
func decodeFrame(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("undecodable frame: %w", err)
	}
	if dec.More() {
		return errors.New("undecodable frame: trailing data")
	}
	return nil
}
