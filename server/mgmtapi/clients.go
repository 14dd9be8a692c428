package mgmtapi

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

// Scopes of the client endpoints (AUTH0-COMPAT §5.1).
var (
	scopesReadClients   = []string{"read:clients", "read:client_keys"}
	scopesUpdateClients = []string{"update:clients", "update:client_keys"}
)

func (h *Handler) clientRoutes(g *echo.Group) {
	g.GET("/clients", h.listClients, requireScope(scopesReadClients...))
	g.POST("/clients", h.createClient, requireScope("create:clients"))
	g.GET("/clients/:id", h.getClient, requireScope(scopesReadClients...))
	g.PATCH("/clients/:id", h.updateClient, requireScope(scopesUpdateClients...))
	g.DELETE("/clients/:id", h.deleteClient, requireScope("delete:clients"))
}

func clientNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "inexistent_client", "The client does not exist.")
}

func clientError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, storage.ErrNotFound):
		return clientNotFound()
	default:
		return apierror.ManagementServerError(err)
	}
}

// showSecret: Auth0 shows client secrets only to tokens allowed to read (or, on PATCH,
// change) client keys.
func showSecret(c echo.Context, scopes ...string) bool {
	for _, s := range scopes {
		if tokenHasScope(c, s) {
			return true
		}
	}
	return false
}

// clientProperties are what POST and PATCH /clients accept (AUTH0-COMPAT §5.7). Other Auth0
// client properties are refused rather than ignored, so that nobody believes them applied.
var (
	clientProperties = []string{
		"name", "description", "app_type", "is_first_party", "oidc_conformant", "callbacks",
		"allowed_origins", "web_origins", "allowed_logout_urls", "grant_types",
		"token_endpoint_auth_method", "client_metadata", "jwt_configuration", "refresh_token",
		"allow_plain_pkce", "cross_origin_authentication", "sso_disabled", "initiate_login_uri",
	}
	refreshTokenProperties = []string{
		"rotation_type", "expiration_type", "leeway", "token_lifetime", "infinite_token_lifetime",
		"idle_token_lifetime", "infinite_idle_token_lifetime",
	}
	jwtConfigurationProperties = []string{"alg", "lifetime_in_seconds", "secret_encoded"}
)

// readClientPatch reads a POST or PATCH body.
func readClientPatch(c echo.Context) (flow.AdminClientPatch, error) {
	o, err := readObject(c)
	if err != nil {
		return flow.AdminClientPatch{}, err
	}
	if err := o.allowOnly(clientProperties...); err != nil {
		return flow.AdminClientPatch{}, err
	}
	r := fieldReader{o: o}
	p := flow.AdminClientPatch{
		Name:                      r.str("name"),
		Description:               r.str("description"),
		AppType:                   r.str("app_type"),
		IsFirstParty:              r.boolean("is_first_party"),
		OIDCConformant:            r.boolean("oidc_conformant"),
		Callbacks:                 r.stringList("callbacks"),
		AllowedOrigins:            r.stringList("allowed_origins"),
		WebOrigins:                r.stringList("web_origins"),
		AllowedLogoutURLs:         r.stringList("allowed_logout_urls"),
		GrantTypes:                r.stringList("grant_types"),
		TokenEndpointAuthMethod:   r.str("token_endpoint_auth_method"),
		AllowPlainPKCE:            r.boolean("allow_plain_pkce"),
		CrossOriginAuthentication: r.boolean("cross_origin_authentication"),
		SSODisabled:               r.boolean("sso_disabled"),
		InitiateLoginURI:          r.str("initiate_login_uri"),
	}
	rt, rtHead := r.object("refresh_token")
	meta, metaHead := r.object("client_metadata")
	jwt, jwtHead := r.object("jwt_configuration")
	if r.err != nil {
		return p, r.err
	}
	// These have no "unset": null is a type error.
	for _, n := range []struct {
		name, want string
		null       bool
	}{
		{"name", "string", p.Name.Null}, {"app_type", "string", p.AppType.Null},
		{"is_first_party", "boolean", p.IsFirstParty.Null}, {"oidc_conformant", "boolean", p.OIDCConformant.Null},
		{"token_endpoint_auth_method", "string", p.TokenEndpointAuthMethod.Null},
		{"allow_plain_pkce", "boolean", p.AllowPlainPKCE.Null},
		{"cross_origin_authentication", "boolean", p.CrossOriginAuthentication.Null},
		{"sso_disabled", "boolean", p.SSODisabled.Null},
	} {
		if n.null {
			return p, typeError(n.want, "null", n.name)
		}
	}
	if metaHead.null {
		return p, typeError("object", "null", "client_metadata")
	}
	if rtHead.null {
		return p, typeError("object", "null", "refresh_token")
	}
	if rt != nil {
		if err := rt.allowOnly(refreshTokenProperties...); err != nil {
			return p, err
		}
		rr := fieldReader{o: rt, prefix: "refresh_token."}
		p.RefreshToken = &flow.RefreshTokenPatch{
			RotationType: rr.str("rotation_type"), ExpirationType: rr.str("expiration_type"),
			Leeway: rr.integer("leeway"), TokenLifetime: rr.integer("token_lifetime"),
			InfiniteTokenLifetime: rr.boolean("infinite_token_lifetime"), IdleTokenLifetime: rr.integer("idle_token_lifetime"),
			InfiniteIdleTokenLifetime: rr.boolean("infinite_idle_token_lifetime"),
		}
		if rr.err != nil {
			return p, rr.err
		}
		pr := p.RefreshToken
		for _, n := range []struct {
			name string
			null bool
		}{
			{"rotation_type", pr.RotationType.Null}, {"expiration_type", pr.ExpirationType.Null}, {"leeway", pr.Leeway.Null},
			{"token_lifetime", pr.TokenLifetime.Null}, {"infinite_token_lifetime", pr.InfiniteTokenLifetime.Null},
			{"idle_token_lifetime", pr.IdleTokenLifetime.Null}, {"infinite_idle_token_lifetime", pr.InfiniteIdleTokenLifetime.Null},
		} {
			if n.null {
				return p, typeError("value", "null", "refresh_token."+n.name)
			}
		}
	}
	if meta != nil {
		p.ClientMetadata = make(map[string]*string, len(meta))
		for _, k := range slices.Sorted(maps.Keys(meta)) {
			raw := meta[k]
			switch jsonKind(raw) {
			case "null":
				p.ClientMetadata[k] = nil
			case "string":
				mr := fieldReader{o: meta, prefix: "client_metadata."}
				v := mr.str(k).Value
				if mr.err != nil {
					return p, mr.err
				}
				p.ClientMetadata[k] = &v
			default:
				return p, typeError("string", jsonKind(raw), "client_metadata."+quoteName(k))
			}
		}
	}
	if jwtHead.null {
		return p, typeError("object", "null", "jwt_configuration")
	}
	if jwt != nil {
		if err := jwt.allowOnly(jwtConfigurationProperties...); err != nil {
			return p, err
		}
		jr := fieldReader{o: jwt, prefix: "jwt_configuration."}
		p.JWTConfiguration = &flow.JWTConfigurationPatch{
			Alg:               jr.str("alg"),
			LifetimeInSeconds: jr.integer("lifetime_in_seconds"),
			SecretEncoded:     jr.boolean("secret_encoded"),
		}
		if jr.err != nil {
			return p, jr.err
		}
		if p.JWTConfiguration.SecretEncoded.Null {
			return p, typeError("boolean", "null", "jwt_configuration.secret_encoded")
		}
		if p.JWTConfiguration.LifetimeInSeconds.Null {
			return p, typeError("integer", "null", "jwt_configuration.lifetime_in_seconds")
		}
	}
	return p, nil
}

// createClient serves POST /api/v2/clients. The answer carries the secret: its creator has to
// learn it somehow.
func (h *Handler) createClient(c echo.Context) error {
	p, err := readClientPatch(c)
	if err != nil {
		return err
	}
	cl, err := h.Flow.AdminCreateClient(c.Request().Context(), p)
	if err != nil {
		return clientError(err)
	}
	return c.JSON(http.StatusCreated, renderClient(cl, true))
}

// getClient serves GET /api/v2/clients/{id}.
func (h *Handler) getClient(c echo.Context) error {
	withSecret := showSecret(c, "read:client_keys")
	render := func(cl storage.Client) clientJSON { return renderClient(cl, withSecret) }
	return getByID(c, h.Store.GetClient, render, clientNotFound, clientError)
}

// updateClient serves PATCH /api/v2/clients/{id}.
func (h *Handler) updateClient(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return clientNotFound()
	}
	p, err := readClientPatch(c)
	if err != nil {
		return err
	}
	cl, err := h.Flow.AdminUpdateClient(c.Request().Context(), id, p)
	if err != nil {
		return clientError(err)
	}
	return c.JSON(http.StatusOK, renderClient(cl, showSecret(c, "read:client_keys", "update:client_keys")))
}

// deleteClient serves DELETE /api/v2/clients/{id}; the client's grants go with it.
func (h *Handler) deleteClient(c echo.Context) error {
	return deleteByID(c, h.Flow.AdminDeleteClient, clientNotFound, clientError)
}

// listClients serves GET /api/v2/clients: a bare array, or the include_totals envelope.
func (h *Handler) listClients(c echo.Context) error {
	q, err := readListQuery(c)
	if err != nil {
		return err
	}
	f, err := readFieldFilter(c)
	if err != nil {
		return err
	}
	clients, total, err := h.Store.ListClients(c.Request().Context(), q.page)
	if err != nil {
		return apierror.ManagementServerError(fmt.Errorf("list clients: %w", err))
	}
	withSecret := showSecret(c, "read:client_keys")
	shaped := make([]clientJSON, 0, len(clients))
	for _, cl := range clients {
		shaped = append(shaped, renderClient(cl, withSecret))
	}
	items, err := applyAll(f, shaped)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	if q.totals {
		return c.JSON(http.StatusOK, pageEnvelope(q, total, "clients", items))
	}
	return c.JSON(http.StatusOK, items)
}
