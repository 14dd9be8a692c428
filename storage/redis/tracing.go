package redis

import (
	"context"
	"net"
	"strings"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer makes the spans of Redis calls. It is looked up on each use: the provider may be
// set, or reset, after start-up.
func tracer() trace.Tracer { return otel.Tracer("github.com/latchauth/latch/storage/redis") }

// tracingHook gives each call of a traced request a span (a command, or a pipeline as one).
// Calls outside a recorded trace (background work, or tracing off) make none. Only the
// command's name is recorded: keys and arguments hold session ids and codes.
type tracingHook struct{}

func (tracingHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (tracingHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		op := strings.ToLower(cmd.Name())
		if !trace.SpanFromContext(ctx).IsRecording() || handshake[op] {
			return next(ctx, cmd)
		}
		ctx, span := startSpan(ctx, op)
		err := next(ctx, cmd)
		endSpan(span, callError(err))
		return err
	}
}

func (tracingHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if !trace.SpanFromContext(ctx).IsRecording() || isHandshake(cmds) {
			return next(ctx, cmds)
		}
		ctx, span := startSpan(ctx, "pipeline")
		span.SetAttributes(attribute.Int("db.operation.batch.size", len(cmds)))
		err := next(ctx, cmds)
		endSpan(span, callError(err))
		return err
	}
}

func startSpan(ctx context.Context, op string) (context.Context, trace.Span) {
	return tracer().Start(ctx, "redis "+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", "redis"), attribute.String("db.operation.name", op)))
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
