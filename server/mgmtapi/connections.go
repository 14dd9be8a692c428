package mgmtapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

// connectionRoutes: database connections can be listed, read and changed; creating and
// deleting them is not served yet.
func (h *Handler) connectionRoutes(g *echo.Group) {
	g.GET("/connections", h.listConnections, requireScope("read:connections"))
	g.GET("/connections/:id", h.getConnection, requireScope("read:connections"))
	g.PATCH("/connections/:id", h.updateConnection, requireScope("update:connections"))
}

// connectionJSON is a database connection as GET /api/v2/connections/{id} answers.
type connectionJSON struct {
	ID       string                `json:"id"`
	Name     string                `json:"name"`
	Strategy string                `json:"strategy"`
	Options  connectionOptionsJSON `json:"options"`
	// EnabledClients is null when every client may use the connection (Auth0's meaning of
	// null too); an empty list would say that none may.
	EnabledClients     []string `json:"enabled_clients"`
	IsDomainConnection bool     `json:"is_domain_connection"`
	Realms             []string `json:"realms"`
}

type connectionOptionsJSON struct {
	PasswordPolicy string `json:"passwordPolicy"`
	// PasswordComplexityOptions is there only when min_length overrides the preset's, so that
	// sending a read connection back does not turn the preset's length into an override.
	PasswordComplexityOptions *passwordComplexityJSON `json:"password_complexity_options,omitempty"`
	PasswordDictionary        passwordDictionaryJSON  `json:"password_dictionary"`
	RequiresUsername          bool                    `json:"requires_username"`
	BruteForceProtection      bool                    `json:"brute_force_protection"`
}

type passwordComplexityJSON struct {
	MinLength int `json:"min_length"`
}

type passwordDictionaryJSON struct {
	Enable     bool     `json:"enable"`
	Dictionary []string `json:"dictionary"`
}

func renderConnection(c storage.Connection) connectionJSON {
	out := connectionJSON{
		ID: c.ID, Name: c.Name, Strategy: c.Strategy,
		Options: connectionOptionsJSON{
			PasswordPolicy:       password.PolicyFor(c.Options).Preset, // "" and unknown read as none
			PasswordDictionary:   passwordDictionaryJSON{Enable: c.Options.PasswordDictionary, Dictionary: []string{}},
			RequiresUsername:     c.Options.RequiresUsername,
			BruteForceProtection: true, // always on (AUTH0-COMPAT §6.1)
		},
		Realms: []string{c.Name},
	}
	if c.Options.MinLength > 0 {
		out.Options.PasswordComplexityOptions = &passwordComplexityJSON{MinLength: c.Options.MinLength}
	}
	if len(c.EnabledClients) > 0 {
		out.EnabledClients = slices.Clone(c.EnabledClients)
	}
	return out
}

func connectionNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "inexistent_connection", "The connection does not exist.")
}

// connectionError translates what the connection use cases and the store return.
func connectionError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, storage.ErrNotFound):
		return connectionNotFound()
	default:
		return apierror.ManagementServerError(err)
	}
}

// Properties PATCH /connections/{id} accepts. name and strategy cannot change, so Auth0's
// schema does not list them and they are refused like any other unknown property.
var (
	connectionUpdateProperties  = []string{"options", "enabled_clients"}
	connectionOptionsProperties = []string{
		"passwordPolicy", "password_complexity_options", "password_dictionary", "requires_username",
		"brute_force_protection",
	}
)

// readConnectionPatch reads a PATCH body.
func readConnectionPatch(c echo.Context) (flow.AdminConnectionPatch, error) {
	var p flow.AdminConnectionPatch
	o, err := readObject(c)
	if err != nil {
		return p, err
	}
	if err := o.allowOnly(connectionUpdateProperties...); err != nil {
		return p, err
	}
	if len(o) == 0 {
		return p, apierror.InvalidBody("Payload validation error: 'Too few properties defined (0), minimum 1'.")
	}
	r := fieldReader{o: o}
	opts, optsHead := r.object("options")
	p.EnabledClients = r.stringList("enabled_clients")
	if r.err != nil {
		return p, r.err
	}
	if optsHead.null {
		return p, typeError("object", "null", "options")
	}
	if opts == nil {
		return p, nil
	}
	if err := opts.allowOnly(connectionOptionsProperties...); err != nil {
		return p, err
	}
	optr := fieldReader{o: opts, prefix: "options."}
	op := &flow.ConnectionOptionsPatch{
		PasswordPolicy:       optr.str("passwordPolicy"),
		RequiresUsername:     optr.boolean("requires_username"),
		BruteForceProtection: optr.boolean("brute_force_protection"),
	}
	complexity, _ := optr.object("password_complexity_options")
	dictionary, _ := optr.object("password_dictionary")
	if optr.err != nil {
		return p, optr.err
	}
	if complexity != nil {
		if err := complexity.allowOnly("min_length"); err != nil {
			return p, err
		}
		cr := fieldReader{o: complexity, prefix: "options.password_complexity_options."}
		op.MinLength = cr.integer("min_length")
		if cr.err != nil {
			return p, cr.err
		}
	}
	if dictionary != nil {
		if err := dictionary.allowOnly("enable", "dictionary"); err != nil {
			return p, err
		}
		dr := fieldReader{o: dictionary, prefix: "options.password_dictionary."}
		op.PasswordDictionary = dr.boolean("enable")
		op.Dictionary = dr.stringList("dictionary").Value
		if dr.err != nil {
			return p, dr.err
		}
	}
	p.Options = op
	return p, nil
}

// getConnection serves GET /api/v2/connections/{id}.
func (h *Handler) getConnection(c echo.Context) error {
	return getByID(c, h.Store.GetConnection, renderConnection, connectionNotFound, connectionError)
}

// updateConnection serves PATCH /api/v2/connections/{id}. The next signup or login reads the
// changed connection.
func (h *Handler) updateConnection(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return connectionNotFound()
	}
	p, err := readConnectionPatch(c)
	if err != nil {
		return err
	}
	conn, err := h.Flow.AdminUpdateConnection(c.Request().Context(), id, p)
	if err != nil {
		return connectionError(err)
	}
	return c.JSON(http.StatusOK, renderConnection(conn))
}

// listConnections serves GET /api/v2/connections: a bare array, or the include_totals
// envelope, or with from/take a checkpoint page ({connections, next}), which is how the Node
// SDK pages. name (exact) and strategy (repeatable) filter; connections are few, so they are
// read whole and filtered and paged here.
func (h *Handler) listConnections(c echo.Context) error {
	q, err := readListQuery(c)
	if err != nil {
		return err
	}
	cq, checkpoint, err := readCheckpointQuery(c)
	if err != nil {
		return err
	}
	f, err := readFieldFilter(c)
	if err != nil {
		return err
	}
	name := c.QueryParam("name")
	var strategies []string
	for _, s := range c.QueryParams()["strategy"] {
		if s != "" {
			strategies = append(strategies, s)
		}
	}
	all, err := h.Store.ListConnections(c.Request().Context())
	if err != nil {
		return apierror.ManagementServerError(fmt.Errorf("list connections: %w", err))
	}
	matching := make([]connectionJSON, 0, len(all))
	for _, conn := range all {
		if (name == "" || conn.Name == name) && (len(strategies) == 0 || slices.Contains(strategies, conn.Strategy)) {
			matching = append(matching, renderConnection(conn))
		}
	}
	if checkpoint {
		page, next := checkpointPage(matching, func(c connectionJSON) string { return c.ID }, cq)
		items, err := applyAll(f, page)
		if err != nil {
			return apierror.ManagementServerError(err)
		}
		out := map[string]any{"connections": items}
		if next != "" {
			out["next"] = next
		}
		return c.JSON(http.StatusOK, out)
	}
	start := min(q.page.Offset(), len(matching))
	end := min(start+q.page.PerPage, len(matching))
	items, err := applyAll(f, matching[start:end])
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	if q.totals {
		return c.JSON(http.StatusOK, pageEnvelope(q, len(matching), "connections", items))
	}
	return c.JSON(http.StatusOK, items)
}
