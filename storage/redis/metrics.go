package redis

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Observer is told of every call the State makes to Redis, for metrics. It must be safe for
// concurrent use and quick: it runs on the caller's goroutine, after each call.
//
// op is the command's name in lower case ("hget", "evalsha", "publish"...), or "pipeline"
// for commands sent as one batch. d covers the whole call: the client's own retries, and
// the dial and handshake of a connection the call had to open. err is nil for the answers
// that are part of a healthy exchange: a missing key (redis.Nil), and the NOSCRIPT reply
// that makes the client send a script it had only named by its hash.
//
// The handshake of a new connection (HELLO, CLIENT SETINFO...) is not observed on its
// own: its time is already in the call that needed the connection, and the client ignores
// the refusals of an older Redis that lacks some of it, which would otherwise count as
// errors.
type Observer interface {
	ObserveCall(op string, d time.Duration, err error)
}

// WithObserver has o told of every call to Redis (nil: none). The package keeps no
// dependency on any metrics library: o is whatever records the calls. (New applies its
// options once the client exists, so the hook goes on it directly.)
func WithObserver(o Observer) Option {
	return func(s *State) {
		if o != nil {
			s.observer = o
			s.rdb.AddHook(observerHook{o})
		}
	}
}

// observerHook times the commands going through the client and hands them to an Observer.
type observerHook struct{ o Observer }

func (h observerHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (h observerHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		op := strings.ToLower(cmd.Name())
		if handshake[op] {
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		h.o.ObserveCall(op, time.Since(start), callError(err))
		return err
	}
}

func (h observerHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if isHandshake(cmds) {
			return next(ctx, cmds)
		}
		start := time.Now()
		err := next(ctx, cmds)
		failed := callError(err)
		for _, c := range cmds {
			if failed != nil {
				break
			}
			failed = callError(c.Err())
		}
		h.o.ObserveCall("pipeline", time.Since(start), failed)
		return err
	}
}

// handshake holds the commands that go-redis sends to set up a connection, and that the
// State never sends itself.
var handshake = map[string]bool{"hello": true, "auth": true, "client": true, "select": true, "readonly": true}

// isHandshake says whether a batch is a connection's setup (go-redis may send it empty).
func isHandshake(cmds []goredis.Cmder) bool {
	for _, c := range cmds {
		if !handshake[strings.ToLower(c.Name())] {
			return false
		}
	}
	return true
}

// callError is err as an Observer sees it: nil for the replies that say nothing of Redis's
// health.
func callError(err error) error {
	if err == nil || errors.Is(err, goredis.Nil) || goredis.HasErrorPrefix(err, "NOSCRIPT") {
		return nil
	}
	return err
}
