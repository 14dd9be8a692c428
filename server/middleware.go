package server

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchauth/latch/internal/requestid"
	"github.com/latchauth/latch/metrics"
	"github.com/latchauth/latch/server/flow"
)

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// carryRequestID puts the request id into the request's context, where the logger finds it
// for every record written while serving the request (requestid.Handler), and with it the
// client's address and user agent, which the auth events of the request carry.
func carryRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := requestid.With(c.Request().Context(), requestID(c))
		ctx = flow.WithRequestInfo(ctx, c.RealIP(), c.Request().UserAgent(), c.Request().Host) // for auth events
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// accessLog writes one line per request. It logs the path without the query string, because
// query strings may carry codes and tokens.
func accessLog(log *slog.Logger, m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			// c.Path is the route pattern (/api/v2/users/:id), so labels stay bounded.
			m.Request(c.Path(), c.Request().Method, c.Response().Status, time.Since(start))
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.Int("status", c.Response().Status),
				slog.Duration("duration", time.Since(start)),
			)
			return nil
		}
	}
}

// traceRequests starts a span for each request, child of the caller's traceparent when it
// sends one, and hands it to the handlers through the request's context, so that the rules,
// password hashing and storage calls of the request become its children. Without a tracer
// provider configured (package tracing) the spans are OpenTelemetry's no-op ones. Only the
// route pattern and the status are recorded: paths may hold user ids and queries codes.
func traceRequests() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := otel.GetTextMapPropagator().Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			route := c.Path()
			ctx, span := otel.Tracer("github.com/latchauth/latch/server").Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(
					attribute.String("http.request.method", req.Method),
					attribute.String("http.route", route),
					attribute.String("latch.request_id", requestID(c)),
				))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status = http.StatusInternalServerError // a panic the recoverer turned into an error
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return err
		}
	}
}

// recoverer turns a panic into a 500 (rendered by the error handler) instead of a dropped
// connection; the panic value goes to the log only.
func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

// securityHeaders are safe for every response latch sends; the hosted pages add their CSP.
func securityHeaders(secure bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			if secure {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			return next(c)
		}
	}
}

// cors lets browser apps call an endpoint from the origins that clients allow (AUTH0-COMPAT
// §0.7): auth0-spa-js sends Content-Type and Auth0-Client, so the preflight allows both.
// Requests from other origins get no CORS headers, so the browser withholds the answer.
func cors(f *flow.Service) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			origin := c.Request().Header.Get(echo.HeaderOrigin)
			h := c.Response().Header()
			h.Add(echo.HeaderVary, echo.HeaderOrigin)
			allowed := false
			if origin != "" {
				ok, err := f.OriginAllowed(c.Request().Context(), origin)
				if err != nil {
					return err
				}
				allowed = ok
			}
			if allowed {
				h.Set(echo.HeaderAccessControlAllowOrigin, origin)
				h.Set(echo.HeaderAccessControlExposeHeaders, "Retry-After, WWW-Authenticate")
			}
			if c.Request().Method != http.MethodOptions {
				return next(c)
			}
			if allowed {
				h.Set(echo.HeaderAccessControlAllowMethods, "GET, POST, OPTIONS")
				h.Set(echo.HeaderAccessControlAllowHeaders, "Content-Type, Auth0-Client, Authorization")
				h.Set(echo.HeaderAccessControlMaxAge, "86400")
			}
			return c.NoContent(http.StatusNoContent)
		}
	}
}
