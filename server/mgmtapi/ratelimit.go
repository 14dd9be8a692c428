package mgmtapi

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/storage"
)

// RateLimit is the Management API's limit for one client: Burst requests at once, refilled
// at PerSecond.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultRateLimit is the limit of a client without its own.
var DefaultRateLimit = RateLimit{PerSecond: 50, Burst: 100}

// RateLimiting limits each caller of the Management API (AUTH0-COMPAT §5.2): every answer
// carries x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-reset (the Unix time at
// which the caller's bucket is full again), and a caller past its limit gets 429 with
// Retry-After. The state is the shared short-lived state, so the limit holds across
// instances.
type RateLimiting struct {
	Store storage.RateLimits
	// Default applies to every client without an entry in PerClient, and to requests
	// without a valid token (counted per IP address).
	Default   RateLimit
	PerClient map[string]RateLimit
}

func (r RateLimit) limit() storage.Limit {
	interval := time.Duration(float64(time.Second) / r.PerSecond)
	return storage.Limit{Burst: r.Burst, Interval: max(interval, time.Microsecond)}
}

// limitCaller counts one request of the caller and sets the headers; it answers 429 when the
// caller is past its limit. A store that cannot be reached lets the request through (the
// limit protects latch; refusing every administrator while Redis is away would not).
func (h *Handler) limitCaller(c echo.Context, key string, rl RateLimit) error {
	if h.Limits == nil || h.Limits.Store == nil {
		return nil
	}
	st, err := h.Limits.Store.TakeRateState(c.Request().Context(), key, rl.limit())
	if err != nil {
		h.Log.WarnContext(c.Request().Context(), "Management API rate limit unavailable", "error", err)
		return nil
	}
	hdr := c.Response().Header()
	hdr.Set("X-RateLimit-Limit", strconv.Itoa(rl.Burst))
	hdr.Set("X-RateLimit-Remaining", strconv.Itoa(st.Remaining))
	hdr.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(st.Reset).Unix()+ceilSeconds(st.Reset%time.Second), 10))
	if st.Allowed {
		return nil
	}
	e := apierror.NewManagement(http.StatusTooManyRequests, "too_many_requests", "Global limit has been reached")
	e.RetryAfter = int(max(ceilSeconds(st.RetryAfter), 1))
	return e
}

func ceilSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

// limitClient is the limit of an authenticated client.
func (h *Handler) limitClient(c echo.Context, clientID string) error {
	rl := h.Limits.Default
	if own, ok := h.Limits.PerClient[clientID]; ok {
		rl = own
	}
	return h.limitCaller(c, "mgmt:client:"+clientID, rl)
}

// limitAnonymous is the limit of requests without a valid token, per IP address.
func (h *Handler) limitAnonymous(c echo.Context) error {
	if h.Limits == nil {
		return nil
	}
	return h.limitCaller(c, "mgmt:ip:"+c.RealIP(), h.Limits.Default)
}
