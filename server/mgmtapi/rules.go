package mgmtapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

func (h *Handler) ruleRoutes(g *echo.Group) {
	g.GET("/rules", h.listRules, requireScope("read:rules"))
	g.POST("/rules", h.createRule, requireScope("create:rules"))
	g.GET("/rules/:id", h.getRule, requireScope("read:rules"))
	g.PATCH("/rules/:id", h.updateRule, requireScope("update:rules"))
	g.DELETE("/rules/:id", h.deleteRule, requireScope("delete:rules"))
}

// ruleJSON is a rule as the Management API answers (AUTH0-COMPAT §5.5). It has exactly
// Auth0's properties: deploy-cli sends a listed rule back in a PATCH (minus id and stage),
// so an extra property here would come back as one the PATCH refuses.
type ruleJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	Script  string `json:"script"`
	Order   int    `json:"order"`
	Stage   string `json:"stage"`
}

func renderRule(r storage.Rule) ruleJSON {
	return ruleJSON{ID: r.ID, Name: r.Name, Enabled: r.Enabled, Script: r.Script, Order: r.Order, Stage: r.Stage}
}

func ruleNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "inexistent_rule", "The rule does not exist.")
}

// ruleError translates what the rule use cases return. The 409 messages are latch's own:
// Auth0's exact wording is UNCONFIRMED.
func ruleError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, flow.ErrRuleNameTaken):
		return apierror.NewManagement(http.StatusConflict, "conflict", "A rule with the same name already exists.")
	case errors.Is(err, flow.ErrRuleOrderTaken):
		return apierror.NewManagement(http.StatusConflict, "conflict", "A rule with the same order already exists in this stage.")
	case errors.Is(err, storage.ErrNotFound):
		return ruleNotFound()
	default:
		return apierror.ManagementServerError(err)
	}
}

// Properties of POST /rules and PATCH /rules/{id}: stage is set at creation only.
var (
	ruleCreateProperties = []string{"name", "script", "order", "enabled", "stage"}
	ruleUpdateProperties = []string{"name", "script", "order", "enabled"}
)

// readRulePatch reads a POST or PATCH body.
func readRulePatch(c echo.Context, allowed []string) (flow.AdminRulePatch, jsonObject, error) {
	o, err := readObject(c)
	if err != nil {
		return flow.AdminRulePatch{}, nil, err
	}
	if err := o.allowOnly(allowed...); err != nil {
		return flow.AdminRulePatch{}, nil, err
	}
	r := fieldReader{o: o}
	p := flow.AdminRulePatch{
		Name:    r.str("name"),
		Script:  r.str("script"),
		Enabled: r.boolean("enabled"),
		Order:   r.integer("order"),
		Stage:   r.str("stage"),
	}
	if r.err != nil {
		return p, nil, r.err
	}
	// Only order has a meaning for null (auto); the others are strings or a boolean.
	for _, n := range []struct {
		name, want string
		null       bool
	}{{"name", "string", p.Name.Null}, {"script", "string", p.Script.Null}, {"enabled", "boolean", p.Enabled.Null}} {
		if n.null {
			return p, nil, typeError(n.want, "null", n.name)
		}
	}
	return p, o, nil
}

// createRule serves POST /api/v2/rules.
func (h *Handler) createRule(c echo.Context) error {
	p, _, err := readRulePatch(c, ruleCreateProperties)
	if err != nil {
		return err
	}
	r, err := h.Flow.AdminCreateRule(c.Request().Context(), p)
	if err != nil {
		return ruleError(err)
	}
	return c.JSON(http.StatusCreated, renderRule(r))
}

// getRule serves GET /api/v2/rules/{id}.
func (h *Handler) getRule(c echo.Context) error {
	return getByID(c, h.Store.GetRule, renderRule, ruleNotFound, ruleError)
}

// updateRule serves PATCH /api/v2/rules/{id}.
func (h *Handler) updateRule(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return ruleNotFound()
	}
	p, o, err := readRulePatch(c, ruleUpdateProperties)
	if err != nil {
		return err
	}
	if len(o) == 0 {
		return apierror.InvalidBody("Payload validation error: 'Too few properties defined (0), minimum 1'.")
	}
	r, err := h.Flow.AdminUpdateRule(c.Request().Context(), id, p)
	if err != nil {
		return ruleError(err)
	}
	return c.JSON(http.StatusOK, renderRule(r))
}

// deleteRule serves DELETE /api/v2/rules/{id}.
func (h *Handler) deleteRule(c echo.Context) error {
	return deleteByID(c, h.Flow.AdminDeleteRule, ruleNotFound, ruleError)
}

// listRules serves GET /api/v2/rules: a bare array, or the include_totals envelope that
// deploy-cli pages through with per_page=100. Rules are few, so they are read whole and the
// enabled filter and the page are applied here.
func (h *Handler) listRules(c echo.Context) error {
	q, err := readListQuery(c)
	if err != nil {
		return err
	}
	f, err := readFieldFilter(c)
	if err != nil {
		return err
	}
	var enabled *bool
	if c.QueryParam("enabled") != "" {
		v, err := queryBool(c, "enabled", true)
		if err != nil {
			return err
		}
		enabled = &v
	}
	all, err := h.Store.ListRules(c.Request().Context())
	if err != nil {
		return apierror.ManagementServerError(fmt.Errorf("list rules: %w", err))
	}
	matching := make([]ruleJSON, 0, len(all))
	for _, r := range all {
		if enabled == nil || r.Enabled == *enabled {
			matching = append(matching, renderRule(r))
		}
	}
	start := min(q.page.Offset(), len(matching))
	end := min(start+q.page.PerPage, len(matching))
	items, err := applyAll(f, matching[start:end])
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	if q.totals {
		return c.JSON(http.StatusOK, pageEnvelope(q, len(matching), "rules", items))
	}
	return c.JSON(http.StatusOK, items)
}
