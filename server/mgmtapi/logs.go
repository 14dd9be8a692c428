package mgmtapi

// The auth event log (Auth0's tenant logs): GET /api/v2/logs (search, or "checkpoint"
// paging with from/take), GET /api/v2/logs/{id} and GET /api/v2/users/{id}/logs; and the
// sapi events that every successful Management API write leaves.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

func (h *Handler) logRoutes(g *echo.Group) {
	g.GET("/logs", h.listLogs, requireScope("read:logs"))
	g.GET("/logs/:id", h.getLog, requireScope("read:logs"))
	g.GET("/users/:id/logs", h.userLogs, requireScope("read:logs", "read:logs_users"))
}

func logNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "inexistent_log", "The log does not exist.")
}

// logJSON is an event as Auth0's log endpoints answer it; empty fields are left out, as
// Auth0 leaves out what an event does not carry.
type logJSON struct {
	LogID        string           `json:"log_id"`
	Date         string           `json:"date"`
	Type         string           `json:"type"`
	Description  string           `json:"description,omitempty"`
	Connection   string           `json:"connection,omitempty"`
	ConnectionID string           `json:"connection_id,omitempty"`
	ClientID     string           `json:"client_id,omitempty"`
	ClientName   string           `json:"client_name,omitempty"`
	IP           string           `json:"ip,omitempty"`
	UserAgent    string           `json:"user_agent,omitempty"`
	Hostname     string           `json:"hostname,omitempty"`
	UserID       string           `json:"user_id,omitempty"`
	UserName     string           `json:"user_name,omitempty"`
	Audience     string           `json:"audience,omitempty"`
	Scope        string           `json:"scope,omitempty"`
	Strategy     string           `json:"strategy,omitempty"`
	StrategyType string           `json:"strategy_type,omitempty"`
	Details      storage.Metadata `json:"details,omitempty"`
	IsMobile     bool             `json:"isMobile"`
}

func renderLog(e storage.Event) logJSON {
	return logJSON{
		LogID: e.ID, Date: isoTime(e.Date), Type: e.Type, Description: e.Description,
		Connection: e.Connection, ConnectionID: e.ConnectionID, ClientID: e.ClientID, ClientName: e.ClientName,
		IP: e.IP, UserAgent: e.UserAgent, Hostname: e.Hostname, UserID: e.UserID, UserName: e.UserName,
		Audience: e.Audience, Scope: e.Scope, Strategy: e.Strategy, StrategyType: e.StrategyType,
		Details: e.Details, IsMobile: strings.Contains(e.UserAgent, "Mobi"),
	}
}

// readLogSort reads sort: date:-1 (newest first, the default) or date:1.
func readLogSort(c echo.Context, q *storage.EventQuery) error {
	switch c.QueryParam("sort") {
	case "", "date:-1":
	case "date:1":
		q.Oldest = true
	default:
		return queryError("'sort must be date:1 or date:-1' on property sort.")
	}
	return nil
}

// listLogs serves GET /api/v2/logs: by checkpoint when from or take is given (every other
// parameter is then ignored, as Auth0 does), by search criteria otherwise.
func (h *Handler) listLogs(c echo.Context) error {
	params := c.QueryParams()
	if params.Has("from") || params.Has("take") {
		return h.logsFromCheckpoint(c)
	}
	var q storage.EventQuery
	text := c.QueryParam("q")
	if s := c.QueryParam("search"); s != "" { // what newer Node SDKs send instead of q
		if text != "" {
			return queryError("send q or search, not both.")
		}
		text = s
	}
	filter, err := parseLogQuery(text)
	if err != nil {
		var qe *logQueryError
		if errors.As(err, &qe) {
			return queryError("'%s' on property q.", qe.Error())
		}
		return apierror.ManagementServerError(err)
	}
	filter.apply(&q)
	if filter.noMatch {
		return h.answerLogs(c, q, true)
	}
	return h.answerLogs(c, q, false)
}

// userLogs serves GET /api/v2/users/{id}/logs: the user's events, newest first by default.
// The user need not exist any more: the events of a deleted user are kept until they age out.
func (h *Handler) userLogs(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return userNotFound()
	}
	return h.answerLogs(c, storage.EventQuery{UserID: id}, false)
}

// answerLogs reads sort, paging and the fields filter, and answers one page of q (none
// when empty): a bare array, or the envelope with include_totals.
func (h *Handler) answerLogs(c echo.Context, q storage.EventQuery, empty bool) error {
	if err := readLogSort(c, &q); err != nil {
		return err
	}
	lq, err := readListQuery(c)
	if err != nil {
		return err
	}
	f, err := readFieldFilter(c)
	if err != nil {
		return err
	}
	q.Page = lq.page
	events, total := []storage.Event{}, 0
	if !empty {
		if events, total, err = h.Store.ListEvents(c.Request().Context(), q); err != nil {
			return apierror.ManagementServerError(err)
		}
	}
	items, err := renderLogs(f, events)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	if lq.totals {
		return c.JSON(http.StatusOK, pageEnvelope(lq, total, "logs", items))
	}
	return c.JSON(http.StatusOK, items)
}

func renderLogs(f fieldFilter, events []storage.Event) ([]any, error) {
	shaped := make([]logJSON, 0, len(events))
	for _, e := range events {
		shaped = append(shaped, renderLog(e))
	}
	return applyAll(f, shaped)
}

// Checkpoint paging: take defaults to 50 and may go up to 100.
const (
	defaultTake = 50
	maxTake     = 100
)

// logsFromCheckpoint answers from/take: the events written after the log_id from (from the
// oldest without one), by ascending log_id, and a Link header whose next relation continues
// after the last (or repeats the request when there was none).
func (h *Handler) logsFromCheckpoint(c echo.Context) error {
	take := defaultTake
	if s := c.QueryParam("take"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxTake {
			return queryError("'take must be an integer from 1 to %d' on property take.", maxTake)
		}
		take = n
	}
	from := c.QueryParam("from")
	events, err := h.Store.EventsAfter(c.Request().Context(), from, take)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	next := from
	if len(events) > 0 {
		next = events[len(events)-1].ID
	}
	link := url.Values{"take": {strconv.Itoa(take)}}
	if next != "" {
		link.Set("from", next)
	}
	c.Response().Header().Set("Link", fmt.Sprintf(`<%slogs?%s>; rel="next"`, h.Audience, link.Encode()))
	items, err := renderLogs(fieldFilter{include: true}, events)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	return c.JSON(http.StatusOK, items)
}

// getLog serves GET /api/v2/logs/{id}.
func (h *Handler) getLog(c echo.Context) error {
	return getByID(c, h.Store.GetEvent, renderLog, logNotFound, func(err error) error {
		if errors.Is(err, storage.ErrNotFound) {
			return logNotFound()
		}
		return apierror.ManagementServerError(err)
	})
}

// ---------------------------------------------------------------------------------------
// sapi: successful writes

// callerKey holds the token's client (azp) in the request context.
const callerKey = "latch.mgmt.caller"

// apiOperations describes each write route for its sapi event, by method and route
// pattern. Writes that change nothing (POST /rules/try, a dry run) are not listed.
var apiOperations = map[string]string{
	"POST /api/v2/users":                                          "Create a user",
	"PATCH /api/v2/users/:id":                                     "Update a user",
	"DELETE /api/v2/users/:id":                                    "Delete a user",
	"POST /api/v2/clients":                                        "Create a client",
	"PATCH /api/v2/clients/:id":                                   "Update a client",
	"DELETE /api/v2/clients/:id":                                  "Delete a client",
	"PATCH /api/v2/connections/:id":                               "Update a connection",
	"POST /api/v2/rules":                                          "Create a rule",
	"PATCH /api/v2/rules/:id":                                     "Update a rule",
	"DELETE /api/v2/rules/:id":                                    "Delete a rule",
	"PUT /api/v2/rules-configs/:key":                              "Set a rules config",
	"DELETE /api/v2/rules-configs/:key":                           "Delete a rules config",
	"POST /api/v2/keys/signing/rotate":                            "Rotate the signing key",
	"PUT /api/v2/keys/signing/:kid/revoke":                        "Revoke a signing key",
	"DELETE /api/v2/user-blocks":                                  "Unblock an identifier",
	"DELETE /api/v2/user-blocks/:id":                              "Unblock a user",
	"POST /api/v2/actions/actions":                                "Create an action",
	"PATCH /api/v2/actions/actions/:id":                           "Update an action",
	"DELETE /api/v2/actions/actions/:id":                          "Delete an action",
	"POST /api/v2/actions/actions/:id/deploy":                     "Deploy an action",
	"PATCH /api/v2/actions/triggers/:trigger/bindings":            "Update trigger bindings",
	"POST /api/v2/tickets/email-verification":                     "Create an email verification ticket",
	"POST /api/v2/tickets/password-change":                        "Create a password change ticket",
	"POST /api/v2/jobs/verification-email":                        "Send a verification email",
	"POST /api/v2/jobs/users-imports":                             "Import users",
	"POST /api/v2/jobs/users-exports":                             "Export users",
	"PATCH /api/v2/attack-protection/brute-force-protection":      "Update brute-force protection",
	"PATCH /api/v2/attack-protection/suspicious-ip-throttling":    "Update suspicious-IP throttling",
	"PATCH /api/v2/attack-protection/breached-password-detection": "Update breached-password detection",
	"POST /api/v2/rules/try":                                      "",
}

// recordWrites records each successful write (sapi) once its handler has answered.
func (h *Handler) recordWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		r := c.Request()
		if err != nil || r.Method == http.MethodGet || r.Method == http.MethodHead || c.Response().Status >= 400 {
			return err
		}
		desc, known := apiOperations[r.Method+" "+c.Path()]
		if known && desc == "" {
			return nil // changes nothing
		}
		if !known {
			desc = r.Method + " " + c.Path()
		}
		scopes, _ := c.Get(grantedScopesKey).([]string)
		caller, _ := c.Get(callerKey).(string)
		h.Flow.RecordAPIEvent(r.Context(), flow.APIEvent{
			Description: desc, ClientID: caller, Method: r.Method, Path: r.URL.Path,
			Status: c.Response().Status, Scopes: scopes,
		})
		return nil
	}
}
