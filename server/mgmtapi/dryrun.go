package mgmtapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
)

// tryRoutes registers the dry run. It runs scripts against a real user's profile, so it
// needs both the right to read users and the right to change rules.
func (h *Handler) tryRoutes(g *echo.Group) {
	g.POST("/rules/try", h.tryRules, requireScope("read:users"), requireScope("update:rules", "create:rules"))
}

// tryRules serves POST /api/v2/rules/try: {"user_id", "client_id", "scope"?, "audience"?,
// "rule"?: {"id"?, "name"?, "script"}}. It answers what a login would issue and save.
func (h *Handler) tryRules(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("user_id", "client_id", "scope", "audience", "rule"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	req := flow.DryRunRequest{
		UserID: r.str("user_id").Value, ClientID: r.str("client_id").Value,
		Scope: r.str("scope").Value, Audience: r.str("audience").Value,
	}
	if ro, head := r.object("rule"); head.set && !head.null {
		if err := ro.allowOnly("id", "name", "script"); err != nil {
			return err
		}
		rr := fieldReader{o: ro}
		req.Draft = &flow.DraftRule{ID: rr.str("id").Value, Name: rr.str("name").Value, Script: rr.str("script").Value}
		if err := rr.err; err != nil {
			return err
		}
		if req.Draft.Script == "" {
			return apierror.InvalidBody("Payload validation error: 'Missing required property: rule.script'.")
		}
	}
	if r.err != nil {
		return r.err
	}
	for name, v := range map[string]string{"user_id": req.UserID, "client_id": req.ClientID} {
		if v == "" {
			return apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'Missing required property: %s'.", name))
		}
	}
	res, err := h.Flow.DryRun(c.Request().Context(), req)
	var (
		syn   *rules.SyntaxError
		shape *rules.ShapeError
		mod   *rules.ModuleError
		den   *flow.DeniedError
	)
	switch {
	case err == nil:
		return c.JSON(http.StatusOK, res)
	case errors.As(err, &syn), errors.As(err, &shape), errors.As(err, &mod):
		return apierror.InvalidBody("rule.script: " + err.Error())
	case errors.Is(err, flow.ErrDryRunUser):
		return apierror.NewManagement(http.StatusNotFound, "inexistent_user", "The user does not exist.")
	case errors.Is(err, flow.ErrDryRunClient):
		return apierror.NewManagement(http.StatusNotFound, "inexistent_client", "The client does not exist.")
	case errors.As(err, &den):
		return apierror.InvalidBody(den.Message)
	default:
		return apierror.ManagementServerError(err)
	}
}
