package mgmtapi

// Actions (AUTH0-COMPAT §4): /api/v2/actions/actions and the trigger bindings. latch keeps
// one version per action (no version history): deploying marks it bindable.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

func (h *Handler) actionRoutes(g *echo.Group) {
	g.GET("/actions/actions", h.listActions, requireScope("read:actions"))
	g.POST("/actions/actions", h.createAction, requireScope("create:actions"))
	g.GET("/actions/actions/:id", h.getAction, requireScope("read:actions"))
	g.PATCH("/actions/actions/:id", h.updateAction, requireScope("update:actions"))
	g.DELETE("/actions/actions/:id", h.deleteAction, requireScope("delete:actions"))
	g.POST("/actions/actions/:id/deploy", h.deployAction, requireScope("create:actions"))
	g.GET("/actions/triggers/:trigger/bindings", h.listBindings, requireScope("read:actions"))
	g.PATCH("/actions/triggers/:trigger/bindings", h.updateBindings, requireScope("update:actions"))
}

// triggerVersions are the trigger versions latch runs (the current ones).
var triggerVersions = map[string]string{
	rules.TriggerPostLogin:            "v3",
	rules.TriggerPreUserRegistration:  "v2",
	rules.TriggerPostUserRegistration: "v2",
}

type triggerJSON struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// actionJSON is an action as the Management API answers.
type actionJSON struct {
	ID                 string        `json:"id"`
	Name               string        `json:"name"`
	SupportedTriggers  []triggerJSON `json:"supported_triggers"`
	Code               string        `json:"code"`
	Dependencies       []any         `json:"dependencies"`
	Runtime            string        `json:"runtime"`
	Secrets            []any         `json:"secrets"`
	Status             string        `json:"status"`
	AllChangesDeployed bool          `json:"all_changes_deployed"`
	CreatedAt          string        `json:"created_at"`
	UpdatedAt          string        `json:"updated_at"`
}

func renderAction(a storage.Action) actionJSON {
	ts := make([]triggerJSON, 0, len(a.SupportedTriggers))
	for _, t := range a.SupportedTriggers {
		ts = append(ts, triggerJSON{ID: t, Version: triggerVersions[t]})
	}
	return actionJSON{
		ID: a.ID, Name: a.Name, SupportedTriggers: ts, Code: a.Code, Dependencies: []any{},
		Runtime: a.Runtime, Secrets: []any{}, Status: "built", AllChangesDeployed: a.Deployed,
		CreatedAt: isoTime(a.CreatedAt), UpdatedAt: isoTime(a.UpdatedAt),
	}
}

// actionVersionJSON answers a deploy: latch has no versions, so the version is the action.
type actionVersionJSON struct {
	ID                string        `json:"id"`
	ActionID          string        `json:"action_id"`
	Code              string        `json:"code"`
	Runtime           string        `json:"runtime"`
	SupportedTriggers []triggerJSON `json:"supported_triggers"`
	Deployed          bool          `json:"deployed"`
	Status            string        `json:"status"`
	CreatedAt         string        `json:"created_at"`
	UpdatedAt         string        `json:"updated_at"`
}

type bindingJSON struct {
	ID          string     `json:"id"`
	TriggerID   string     `json:"trigger_id"`
	DisplayName string     `json:"display_name"`
	Action      actionJSON `json:"action"`
}

func actionNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "not_found", "The action does not exist.")
}

func triggerNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "not_found", "The trigger does not exist.")
}

// actionError translates what the action use cases return. The messages are latch's own:
// Auth0's exact wording is UNCONFIRMED.
func actionError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, flow.ErrActionNameTaken):
		return apierror.NewManagement(http.StatusConflict, "conflict", "An action with the same name already exists.")
	case errors.Is(err, flow.ErrActionBound):
		return apierror.NewManagement(http.StatusConflict, "conflict", "The action is bound to a trigger: unbind it first, or delete with force=true.")
	case errors.Is(err, flow.ErrUnknownTrigger):
		return triggerNotFound()
	case errors.Is(err, storage.ErrNotFound):
		return actionNotFound()
	default:
		return apierror.ManagementServerError(err)
	}
}

var (
	actionCreateProperties = []string{"name", "code", "runtime", "supported_triggers", "dependencies", "secrets"}
	actionUpdateProperties = actionCreateProperties
)

// readActionPatch reads a POST or PATCH body. Secrets and dependencies are refused unless
// empty: latch does not support them yet (event.secrets are the rules-configs variables).
func readActionPatch(c echo.Context, allowed []string) (flow.AdminActionPatch, jsonObject, error) {
	o, err := readObject(c)
	if err != nil {
		return flow.AdminActionPatch{}, nil, err
	}
	if err := o.allowOnly(allowed...); err != nil {
		return flow.AdminActionPatch{}, nil, err
	}
	r := fieldReader{o: o}
	p := flow.AdminActionPatch{Name: r.str("name"), Code: r.str("code"), Runtime: r.str("runtime")}
	for _, name := range []string{"secrets", "dependencies"} {
		if v, _, ok := r.raw(name, "array"); ok {
			var items []json.RawMessage
			if json.Unmarshal(v, &items) == nil && len(items) > 0 {
				return p, nil, apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'latch does not support action %s yet; use rules-configs variables, which actions read as event.secrets' on property %s.", name, name))
			}
		}
	}
	if v, h, ok := r.raw("supported_triggers", "array"); ok {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return p, nil, typeError("array", jsonKind(v), "supported_triggers")
		}
		ids := make([]string, 0, len(items))
		for i, item := range items {
			var t struct {
				ID      *string `json:"id"`
				Version *string `json:"version"`
			}
			prop := fmt.Sprintf("supported_triggers[%d]", i)
			if jsonKind(item) != "object" || json.Unmarshal(item, &t) != nil {
				return p, nil, typeError("object", jsonKind(item), prop)
			}
			if t.ID == nil {
				return p, nil, apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'Missing required property: id' on property %s.", prop))
			}
			want, known := triggerVersions[*t.ID]
			if !known {
				return p, nil, apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'latch runs actions at post-login, pre-user-registration and post-user-registration only, got %s' on property %s.id.", quoteName(*t.ID), prop))
			}
			if t.Version != nil && *t.Version != want {
				return p, nil, apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'latch runs %s version %s only, got %s' on property %s.version.", *t.ID, want, quoteName(*t.Version), prop))
			}
			if !slices.Contains(ids, *t.ID) {
				ids = append(ids, *t.ID)
			}
		}
		p.SupportedTriggers = patchOf(h, ids)
	} else if h.null {
		p.SupportedTriggers = flow.Patch[[]string]{Set: true, Null: true}
	}
	if r.err != nil {
		return p, nil, r.err
	}
	for _, n := range []struct {
		name string
		null bool
	}{{"name", p.Name.Null}, {"code", p.Code.Null}, {"runtime", p.Runtime.Null}, {"supported_triggers", p.SupportedTriggers.Null}} {
		if n.null {
			want := "string"
			if n.name == "supported_triggers" {
				want = "array"
			}
			return p, nil, typeError(want, "null", n.name)
		}
	}
	return p, o, nil
}

// createAction serves POST /api/v2/actions/actions.
func (h *Handler) createAction(c echo.Context) error {
	p, _, err := readActionPatch(c, actionCreateProperties)
	if err != nil {
		return err
	}
	a, err := h.Flow.AdminCreateAction(c.Request().Context(), p)
	if err != nil {
		return actionError(err)
	}
	return c.JSON(http.StatusCreated, renderAction(a))
}

// getAction serves GET /api/v2/actions/actions/{id}.
func (h *Handler) getAction(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return actionNotFound()
	}
	a, err := h.Store.GetAction(c.Request().Context(), id)
	if err != nil {
		return actionError(err)
	}
	return c.JSON(http.StatusOK, renderAction(a))
}

// updateAction serves PATCH /api/v2/actions/actions/{id}.
func (h *Handler) updateAction(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return actionNotFound()
	}
	p, o, err := readActionPatch(c, actionUpdateProperties)
	if err != nil {
		return err
	}
	if len(o) == 0 {
		return apierror.InvalidBody("Payload validation error: 'Too few properties defined (0), minimum 1'.")
	}
	a, err := h.Flow.AdminUpdateAction(c.Request().Context(), id, p)
	if err != nil {
		return actionError(err)
	}
	return c.JSON(http.StatusOK, renderAction(a))
}

// deleteAction serves DELETE /api/v2/actions/actions/{id}[?force=true].
func (h *Handler) deleteAction(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return actionNotFound()
	}
	force, err := queryBool(c, "force", false)
	if err != nil {
		return err
	}
	if err := h.Flow.AdminDeleteAction(c.Request().Context(), id, force); err != nil {
		return actionError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// deployAction serves POST /api/v2/actions/actions/{id}/deploy.
func (h *Handler) deployAction(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return actionNotFound()
	}
	a, err := h.Flow.AdminDeployAction(c.Request().Context(), id)
	if err != nil {
		return actionError(err)
	}
	r := renderAction(a)
	return c.JSON(http.StatusAccepted, actionVersionJSON{
		ID: a.ID, ActionID: a.ID, Code: a.Code, Runtime: a.Runtime, SupportedTriggers: r.SupportedTriggers,
		Deployed: true, Status: "built", CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	})
}

// listActions serves GET /api/v2/actions/actions: always the paged envelope
// {actions, total, page, per_page}, filtered by triggerId, actionName and deployed.
func (h *Handler) listActions(c echo.Context) error {
	q, err := readListQuery(c)
	if err != nil {
		return err
	}
	var deployed *bool
	if c.QueryParam("deployed") != "" {
		v, err := queryBool(c, "deployed", false)
		if err != nil {
			return err
		}
		deployed = &v
	}
	trigger, name := c.QueryParam("triggerId"), c.QueryParam("actionName")
	all, err := h.Store.ListActions(c.Request().Context())
	if err != nil {
		return apierror.ManagementServerError(fmt.Errorf("list actions: %w", err))
	}
	matching := make([]actionJSON, 0, len(all))
	for _, a := range all {
		if (trigger == "" || a.SupportsTrigger(trigger)) && (name == "" || a.Name == name) && (deployed == nil || a.Deployed == *deployed) {
			matching = append(matching, renderAction(a))
		}
	}
	start := min(q.page.Offset(), len(matching))
	end := min(start+q.page.PerPage, len(matching))
	return c.JSON(http.StatusOK, map[string]any{
		"actions": matching[start:end], "total": len(matching), "page": q.page.Page, "per_page": q.page.PerPage,
	})
}

// bindingsJSON renders a trigger's bindings with their actions.
func (h *Handler) bindingsJSON(c echo.Context, bs []storage.ActionBinding) ([]bindingJSON, error) {
	out := make([]bindingJSON, 0, len(bs))
	for _, b := range bs {
		a, err := h.Store.GetAction(c.Request().Context(), b.ActionID)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted in the meantime
		}
		if err != nil {
			return nil, err
		}
		out = append(out, bindingJSON{ID: b.ID, TriggerID: b.Trigger, DisplayName: b.DisplayName, Action: renderAction(a)})
	}
	return out, nil
}

// listBindings serves GET /api/v2/actions/triggers/{trigger}/bindings.
func (h *Handler) listBindings(c echo.Context) error {
	trigger := c.Param("trigger")
	if !flow.KnownTrigger(trigger) {
		return triggerNotFound()
	}
	q, err := readListQuery(c)
	if err != nil {
		return err
	}
	bs, err := h.Store.ListTriggerBindings(c.Request().Context(), trigger)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	out, err := h.bindingsJSON(c, bs)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	start := min(q.page.Offset(), len(out))
	end := min(start+q.page.PerPage, len(out))
	return c.JSON(http.StatusOK, map[string]any{
		"bindings": out[start:end], "total": len(out), "page": q.page.Page, "per_page": q.page.PerPage,
	})
}

// updateBindings serves PATCH /api/v2/actions/triggers/{trigger}/bindings: the list given
// replaces the trigger's flow.
func (h *Handler) updateBindings(c echo.Context) error {
	trigger := c.Param("trigger")
	if !flow.KnownTrigger(trigger) {
		return triggerNotFound()
	}
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("bindings"); err != nil {
		return err
	}
	raw, ok := o["bindings"]
	if !ok {
		return apierror.InvalidBody("Payload validation error: 'Missing required property: bindings'.")
	}
	if k := jsonKind(raw); k != "array" {
		return typeError("array", k, "bindings")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return typeError("array", jsonKind(raw), "bindings")
	}
	refs := make([]flow.BindingRef, 0, len(items))
	for i, item := range items {
		prop := fmt.Sprintf("bindings[%d]", i)
		var b struct {
			Ref *struct {
				Type  *string `json:"type"`
				Value *string `json:"value"`
			} `json:"ref"`
			DisplayName *string `json:"display_name"`
		}
		if jsonKind(item) != "object" {
			return typeError("object", jsonKind(item), prop)
		}
		if err := json.Unmarshal(item, &b); err != nil {
			return apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'Expected ref {type, value} of strings and display_name a string' on property %s.", prop))
		}
		if b.Ref == nil || b.Ref.Type == nil || b.Ref.Value == nil {
			return apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'Missing required property: ref (with type and value)' on property %s.", prop))
		}
		ref := flow.BindingRef{Type: *b.Ref.Type, Value: *b.Ref.Value}
		if b.DisplayName != nil {
			ref.DisplayName = *b.DisplayName
		}
		refs = append(refs, ref)
	}
	bs, err := h.Flow.AdminSetTriggerBindings(c.Request().Context(), trigger, refs)
	if err != nil {
		return actionError(err)
	}
	out, err := h.bindingsJSON(c, bs)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"bindings": out})
}
