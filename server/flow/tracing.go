package flow

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchauth/latch/rules"
)

// tracer makes the spans of the use cases (package tracing explains when they are sent). It is looked
// up on each use: the provider may be set, or reset, after start-up.
func tracer() trace.Tracer { return otel.Tracer("github.com/latchauth/latch/server/flow") }

// tracedRunner gives each pipeline run a span, with one event per script and its time, so a
// slow login shows which rule it waited for.
type tracedRunner struct{ rules.Runner }

// traced wraps r in spans; nil (no rules) stays nil.
func traced(r rules.Runner) rules.Runner {
	if r == nil {
		return nil
	}
	return tracedRunner{r}
}

func (r tracedRunner) Run(ctx context.Context, req rules.Request) (rules.Response, error) {
	ctx, span := tracer().Start(ctx, "rules "+req.Trigger, trace.WithAttributes(
		attribute.String("latch.rules.trigger", req.Trigger),
		attribute.Int("latch.rules.scripts", len(req.Scripts)),
	))
	defer span.End()
	resp, err := r.Runner.Run(ctx, req)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return resp, err
	}
	span.SetAttributes(attribute.String("latch.rules.outcome", resp.Outcome))
	for _, t := range resp.Timings {
		span.AddEvent("script", trace.WithAttributes(
			attribute.String("latch.rule.name", t.Name),
			attribute.String("latch.rule.outcome", t.Outcome),
			attribute.Float64("latch.rule.duration_ms", float64(t.Duration.Microseconds())/1000),
		))
	}
	return resp, nil
}
