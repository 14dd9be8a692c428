// Package tracing sends OpenTelemetry traces of latch's work to an OTLP/HTTP collector when
// configured: a span per HTTP request, and inside it the rules pipeline, the password hash
// and the MongoDB and Redis calls. Without configuration the global tracer provider stays
// OpenTelemetry's no-op one, so the instrumented code costs next to nothing.
//
// The instrumented packages use only the OpenTelemetry API (otel.Tracer); this package is
// the one place that builds the SDK, and only cmd/latch calls it.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options configure the traces.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP base URL, e.g. http://otel-collector:4318;
	// spans go to <Endpoint>/v1/traces.
	Endpoint string
	// SampleRatio is the share of new traces recorded, in (0, 1]; a request that arrives
	// with a sampled traceparent is always recorded (parent-based sampling).
	SampleRatio float64
	// ServiceName and Instance name this process in the spans' resource.
	ServiceName string
	Instance    string
}

// Setup installs a tracer provider that exports to o.Endpoint, and the W3C trace-context
// propagator, as OpenTelemetry's globals. The returned function puts the no-op provider
// back, flushes the spans still queued and stops the exporter; call it at shutdown.
func Setup(ctx context.Context, o Options) (shutdown func(context.Context) error, err error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("otel endpoint %q: want an http(s):// URL", o.Endpoint)
	}
	if o.SampleRatio <= 0 || o.SampleRatio > 1 {
		return nil, errors.New("otel sample ratio: want a number in (0, 1]")
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(o.Endpoint+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", o.ServiceName),
		attribute.String("service.instance.id", o.Instance),
	)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return func(ctx context.Context) error {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return tp.Shutdown(ctx)
	}, nil
}
