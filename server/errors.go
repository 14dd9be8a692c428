package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
)

// errorHandler renders every error in the shape of its endpoint family. Internal causes are
// logged with the request id and never sent.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, body, header := render(err, c.Request().URL.Path)
		if status >= 500 {
			log.ErrorContext(c.Request().Context(), "request failed", "path", c.Request().URL.Path, "error", err)
		}
		for k, v := range header {
			c.Response().Header().Set(k, v)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, body)
	}
}

func render(err error, path string) (int, any, map[string]string) {
	var (
		oauth *apierror.OAuth
		db    *apierror.DBConnection
		mgmt  *apierror.Management
		he    *echo.HTTPError
	)
	switch {
	case errors.As(err, &oauth):
		h := map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}
		if oauth.WWWAuthenticate != "" {
			h["WWW-Authenticate"] = oauth.WWWAuthenticate
		}
		return oauth.Status, oauth, withRetryAfter(h, oauth.RetryAfter)
	case errors.As(err, &db):
		return db.StatusCode, db, withRetryAfter(nil, db.RetryAfter)
	case errors.As(err, &mgmt):
		return mgmt.StatusCode, mgmt, withRetryAfter(nil, mgmt.RetryAfter)
	case errors.As(err, &he) && he.Code < 500:
		// Routing errors (404, 405) and echo's own 4xx.
		msg := http.StatusText(he.Code)
		if strings.HasPrefix(path, "/api/v2/") {
			return he.Code, apierror.NewManagement(he.Code, strings.ToLower(strings.ReplaceAll(msg, " ", "_")), msg), nil
		}
		return he.Code, apierror.NewOAuth(he.Code, strings.ToLower(strings.ReplaceAll(msg, " ", "_")), msg), nil
	default:
		if strings.HasPrefix(path, "/api/v2/") {
			return http.StatusInternalServerError, apierror.ManagementServerError(err), nil
		}
		return http.StatusInternalServerError, apierror.ServerError(err), nil
	}
}

// withRetryAfter adds a Retry-After header when seconds > 0.
func withRetryAfter(h map[string]string, seconds int) map[string]string {
	if seconds <= 0 {
		return h
	}
	if h == nil {
		h = map[string]string{}
	}
	h["Retry-After"] = strconv.Itoa(seconds)
	return h
}
