package tracing

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestSetupRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Endpoint: "collector:4318", SampleRatio: 1},
		{Endpoint: "ftp://collector:4318", SampleRatio: 1},
		{Endpoint: "http://", SampleRatio: 1},
		{Endpoint: "http://collector:4318", SampleRatio: 0},
		{Endpoint: "http://collector:4318", SampleRatio: 1.5},
	} {
		if _, err := Setup(context.Background(), o); err == nil {
			t.Errorf("Setup(%+v) accepted", o)
		}
	}
}

func TestShutdownRestoresNoop(t *testing.T) {
	shutdown, err := Setup(context.Background(), Options{Endpoint: "http://127.0.0.1:1", SampleRatio: 1, ServiceName: "latch"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := otel.GetTracerProvider().(noop.TracerProvider); ok {
		t.Fatal("Setup left the no-op provider in place")
	}
	_, span := otel.Tracer("t").Start(context.Background(), "s")
	if !span.IsRecording() {
		t.Fatal("spans are not recorded after Setup")
	}
	span.End()
	// The collector is unreachable; whatever the flush says, the no-op provider comes back.
	_ = shutdown(context.Background())
	if _, ok := otel.GetTracerProvider().(noop.TracerProvider); !ok {
		t.Fatalf("after shutdown the provider is %T", otel.GetTracerProvider())
	}
}
