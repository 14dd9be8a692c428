package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/latchauth/latch/storage"
)

const clientColumns = `id, secret, name, description, app_type, is_first_party, oidc_conformant,
	callbacks, allowed_origins, web_origins, allowed_logout_urls, grant_types,
	token_endpoint_auth_method, client_metadata, jwt_configuration, refresh_token,
	allow_plain_pkce, created_at, updated_at, cross_origin_authentication, sso_disabled,
	initiate_login_uri`

func scanClient(sc scanner) (storage.Client, error) {
	var (
		c                                                      storage.Client
		callbacks, origins, webOrigins, logoutURLs, grantTypes string
		metadata, jwtConfig, refreshToken                      string
		created, updated                                       sql.NullInt64
	)
	err := sc.Scan(&c.ID, &c.Secret, &c.Name, &c.Description, &c.AppType, &c.IsFirstParty,
		&c.OIDCConformant, &callbacks, &origins, &webOrigins, &logoutURLs, &grantTypes,
		&c.TokenEndpointAuthMethod, &metadata, &jwtConfig, &refreshToken, &c.AllowPlainPKCE,
		&created, &updated, &c.CrossOriginAuthentication, &c.SSODisabled, &c.InitiateLoginURI)
	if err != nil {
		return storage.Client{}, err
	}
	for _, l := range []struct {
		dst  *[]string
		text string
	}{
		{&c.Callbacks, callbacks}, {&c.AllowedOrigins, origins}, {&c.WebOrigins, webOrigins},
		{&c.AllowedLogoutURLs, logoutURLs}, {&c.GrantTypes, grantTypes},
	} {
		if *l.dst, err = decodeList(l.text); err != nil {
			return storage.Client{}, fmt.Errorf("client %s: %w", c.ID, err)
		}
	}
	if c.ClientMetadata, err = decodeStringMap(metadata); err != nil {
		return storage.Client{}, fmt.Errorf("client %s: client_metadata: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(jwtConfig), &c.JWTConfiguration); err != nil {
		return storage.Client{}, fmt.Errorf("client %s: jwt_configuration: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(refreshToken), &c.RefreshToken); err != nil {
		return storage.Client{}, fmt.Errorf("client %s: refresh_token: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = timeCol(created), timeCol(updated)
	return c, nil
}

// clientArgs are in clientColumns order.
func clientArgs(c storage.Client) []any {
	jwtConfig, _ := json.Marshal(c.JWTConfiguration) // plain fields always encode
	refreshToken, _ := json.Marshal(c.RefreshToken)
	return []any{c.ID, c.Secret, c.Name, c.Description, c.AppType, c.IsFirstParty,
		c.OIDCConformant, encodeList(c.Callbacks), encodeList(c.AllowedOrigins),
		encodeList(c.WebOrigins), encodeList(c.AllowedLogoutURLs), encodeList(c.GrantTypes),
		c.TokenEndpointAuthMethod, encodeStringMap(c.ClientMetadata), string(jwtConfig),
		string(refreshToken), c.AllowPlainPKCE, timeArg(c.CreatedAt), timeArg(c.UpdatedAt),
		c.CrossOriginAuthentication, c.SSODisabled, c.InitiateLoginURI}
}

func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, clientArgs(c)...)
	return dbError(fmt.Sprintf("create client %q", c.ID), err)
}

func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return storage.Client{}, dbError(fmt.Sprintf("get client %q", id), err)
	}
	return c, nil
}

func (s *Store) ListClients(ctx context.Context, page storage.Page) ([]storage.Client, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	clients := []storage.Client{}
	var total int
	err := s.readTx(ctx, func(tx runner) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clients`).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients
			ORDER BY created_at, id LIMIT ? OFFSET ?`, page.PerPage, page.Offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClient(rows)
			if err != nil {
				return err
			}
			clients = append(clients, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, dbError("list clients", err)
	}
	return clients, total, nil
}

// UpdateClient is a read-modify-write in one BEGIN IMMEDIATE transaction (see UpdateUser).
func (s *Store) UpdateClient(ctx context.Context, id string, update func(storage.Client) (storage.Client, error)) (storage.Client, error) {
	op := fmt.Sprintf("update client %q", id)
	var out storage.Client
	err := s.writeTx(ctx, func(tx runner) error {
		old, err := scanClient(tx.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
		if err != nil {
			return dbError(op, err)
		}
		nc, err := update(old)
		if err != nil {
			return err
		}
		nc.ID = id
		args := clientArgs(nc)
		_, err = tx.ExecContext(ctx, `UPDATE clients SET
			secret = ?, name = ?, description = ?, app_type = ?, is_first_party = ?,
			oidc_conformant = ?, callbacks = ?, allowed_origins = ?, web_origins = ?,
			allowed_logout_urls = ?, grant_types = ?, token_endpoint_auth_method = ?,
			client_metadata = ?, jwt_configuration = ?, refresh_token = ?, allow_plain_pkce = ?,
			created_at = ?, updated_at = ?, cross_origin_authentication = ?, sso_disabled = ?,
			initiate_login_uri = ?
			WHERE id = ?`, append(args[1:], id)...)
		if err != nil {
			return dbError(op, err)
		}
		// Read back rather than return nc: the caller gets a value that shares no slice
		// or map with the one its updater built, and is normalised like any read.
		out, err = scanClient(tx.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
		return dbError(op, err)
	})
	if err != nil {
		return storage.Client{}, err
	}
	return out, nil
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	return mustAffect(fmt.Sprintf("delete client %q", id), res, err)
}

func scanClientGrant(sc scanner) (storage.ClientGrant, error) {
	var (
		g     storage.ClientGrant
		scope string
	)
	if err := sc.Scan(&g.ID, &g.ClientID, &g.Audience, &scope); err != nil {
		return storage.ClientGrant{}, err
	}
	var err error
	if g.Scope, err = decodeList(scope); err != nil {
		return storage.ClientGrant{}, fmt.Errorf("client grant %s: scope: %w", g.ID, err)
	}
	return g, nil
}

func (s *Store) CreateClientGrant(ctx context.Context, g storage.ClientGrant) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO client_grants (id, client_id, audience, scope)
		VALUES (?, ?, ?, ?)`, g.ID, g.ClientID, g.Audience, encodeList(g.Scope))
	return dbError(fmt.Sprintf("create client grant %q", g.ID), err)
}

func (s *Store) GetClientGrant(ctx context.Context, clientID, audience string) (storage.ClientGrant, error) {
	g, err := scanClientGrant(s.r.QueryRowContext(ctx, `SELECT id, client_id, audience, scope
		FROM client_grants WHERE client_id = ? AND audience = ?`, clientID, audience))
	if err != nil {
		return storage.ClientGrant{}, dbError(fmt.Sprintf("get client grant of %q for %q", clientID, audience), err)
	}
	return g, nil
}

func (s *Store) ListClientGrants(ctx context.Context, clientID string) ([]storage.ClientGrant, error) {
	op := fmt.Sprintf("list client grants of %q", clientID)
	rows, err := s.r.QueryContext(ctx, `SELECT id, client_id, audience, scope
		FROM client_grants WHERE client_id = ? ORDER BY audience`, clientID)
	if err != nil {
		return nil, dbError(op, err)
	}
	defer rows.Close()
	grants := []storage.ClientGrant{}
	for rows.Next() {
		g, err := scanClientGrant(rows)
		if err != nil {
			return nil, dbError(op, err)
		}
		grants = append(grants, g)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return grants, nil
}

func (s *Store) DeleteClientGrant(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM client_grants WHERE id = ?`, id)
	return mustAffect(fmt.Sprintf("delete client grant %q", id), res, err)
}
