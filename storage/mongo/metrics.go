package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Observer is told of every command the Store sends to the server, for metrics (set it in
// Options). It must be safe for concurrent use and quick: the driver calls it on the
// goroutine that ran the command, once the reply (or the failure) is in.
//
// op is the command's name as the server knows it: find, insert, update, delete,
// findAndModify, aggregate, getMore, createIndexes... d is the round trip of that one
// command, as the driver timed it; a command the driver retries is observed once per
// attempt. err is the failure of a command that did not run: the connection broke, the
// server refused it, or the caller's context ended. It is nil for the answers that are part
// of a healthy exchange: a write that the server rejected document by document (a duplicate
// key, which the Store reports as storage.ErrAlreadyExists), and NamespaceNotFound (a
// collection not created yet, which the driver reads as an empty one).
//
// endSessions, which the driver sends on Close to free the server's sessions, is not a call
// of the Store, and is not observed.
//
// An operation that fails before any command is sent (no server could be selected, as
// while the server is down) is not observed: the Store's callers see ErrUnavailable, and
// Ping reports it.
type Observer interface {
	ObserveCall(op string, d time.Duration, err error)
}

// observe has o told of every command of the client co makes, and gives each command of a
// traced request a span (tracing). The driver's own monitoring carries each command's
// duration, so nothing needs to be matched up between its start and its end; started
// events are not asked for, which spares the driver a copy of every command.
func observe(co *options.ClientOptions, o Observer) {
	done := func(ctx context.Context, name string, d time.Duration, err error) {
		if name == "endSessions" {
			return
		}
		if o != nil {
			o.ObserveCall(name, d, err)
		}
		traceCommand(ctx, name, d, err)
	}
	co.SetMonitor(&event.CommandMonitor{
		Succeeded: func(ctx context.Context, e *event.CommandSucceededEvent) {
			done(ctx, e.CommandName, e.Duration, nil)
		},
		Failed: func(ctx context.Context, e *event.CommandFailedEvent) {
			done(ctx, e.CommandName, e.Duration, commandError(e.Failure))
		},
	})
}

// tracer makes the spans of MongoDB commands. It is looked
// up on each use: the provider may be set, or reset, after start-up.
func tracer() trace.Tracer { return otel.Tracer("github.com/latchauth/latch/storage/mongo") }

// traceCommand records a finished command as a span of the request that sent it, ending
// now and lasting d. Commands outside a recorded trace (background work, or tracing off)
// make no span.
func traceCommand(ctx context.Context, name string, d time.Duration, err error) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	end := time.Now()
	_, span := tracer().Start(ctx, "mongodb "+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(end.Add(-d)),
		trace.WithAttributes(attribute.String("db.system", "mongodb"), attribute.String("db.operation.name", name)))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(end))
}

// commandError is a failed command's error as an Observer sees it: nil for the failures
// that say nothing of the server's health.
func commandError(err error) error {
	var derr driver.Error
	if errors.As(err, &derr) && derr.NamespaceNotFound() {
		return nil
	}
	return err
}
