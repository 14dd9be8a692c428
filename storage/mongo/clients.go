package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

type clientDoc struct {
	ID                      string   `bson:"_id"`
	Secret                  string   `bson:"secret"`
	Name                    string   `bson:"name"`
	Description             string   `bson:"description"`
	AppType                 string   `bson:"app_type"`
	IsFirstParty            bool     `bson:"is_first_party"`
	OIDCConformant          bool     `bson:"oidc_conformant"`
	Callbacks               []string `bson:"callbacks"`
	AllowedOrigins          []string `bson:"allowed_origins"`
	WebOrigins              []string `bson:"web_origins"`
	AllowedLogoutURLs       []string `bson:"allowed_logout_urls"`
	GrantTypes              []string `bson:"grant_types"`
	TokenEndpointAuthMethod string   `bson:"token_endpoint_auth_method"`
	// ClientMetadata is JSON text: its keys are the caller's (see codec.go).
	ClientMetadata   string              `bson:"client_metadata"`
	JWTConfiguration jwtConfigurationDoc `bson:"jwt_configuration"`
	RefreshToken     refreshPolicyDoc    `bson:"refresh_token"`
	AllowPlainPKCE   bool                `bson:"allow_plain_pkce"`
	CrossOrigin      bool                `bson:"cross_origin_authentication"`
	SSODisabled      bool                `bson:"sso_disabled"`
	InitiateLoginURI string              `bson:"initiate_login_uri"`
	CreatedAt        *time.Time          `bson:"created_at,omitempty"`
	UpdatedAt        *time.Time          `bson:"updated_at,omitempty"`
	Version          int64               `bson:"version"`
}

type jwtConfigurationDoc struct {
	Alg               string `bson:"alg"`
	LifetimeInSeconds int    `bson:"lifetime_in_seconds"`
	SecretEncoded     bool   `bson:"secret_encoded"`
}

type refreshPolicyDoc struct {
	RotationType              string `bson:"rotation_type"`
	ExpirationType            string `bson:"expiration_type"`
	Leeway                    int    `bson:"leeway"`
	TokenLifetime             int    `bson:"token_lifetime"`
	InfiniteTokenLifetime     bool   `bson:"infinite_token_lifetime"`
	IdleTokenLifetime         int    `bson:"idle_token_lifetime"`
	InfiniteIdleTokenLifetime bool   `bson:"infinite_idle_token_lifetime"`
}

var clientTimes = []string{"created_at", "updated_at"}

func newClientDoc(c storage.Client) clientDoc {
	return clientDoc{
		ID: c.ID, Secret: c.Secret, Name: c.Name, Description: c.Description, AppType: c.AppType,
		IsFirstParty: c.IsFirstParty, OIDCConformant: c.OIDCConformant,
		Callbacks: list(c.Callbacks), AllowedOrigins: list(c.AllowedOrigins), WebOrigins: list(c.WebOrigins),
		AllowedLogoutURLs: list(c.AllowedLogoutURLs), GrantTypes: list(c.GrantTypes),
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, ClientMetadata: stringMapText(c.ClientMetadata),
		JWTConfiguration: jwtConfigurationDoc(c.JWTConfiguration), RefreshToken: refreshPolicyDoc(c.RefreshToken),
		AllowPlainPKCE: c.AllowPlainPKCE, CreatedAt: timePtr(c.CreatedAt), UpdatedAt: timePtr(c.UpdatedAt),
		CrossOrigin: c.CrossOriginAuthentication, SSODisabled: c.SSODisabled, InitiateLoginURI: c.InitiateLoginURI,
	}
}

func (d clientDoc) client() (storage.Client, error) {
	meta, err := decodeStringMap(d.ClientMetadata)
	if err != nil {
		return storage.Client{}, fmt.Errorf("client %s: client_metadata: %w", d.ID, err)
	}
	return storage.Client{
		ID: d.ID, Secret: d.Secret, Name: d.Name, Description: d.Description, AppType: d.AppType,
		IsFirstParty: d.IsFirstParty, OIDCConformant: d.OIDCConformant,
		Callbacks: list(d.Callbacks), AllowedOrigins: list(d.AllowedOrigins), WebOrigins: list(d.WebOrigins),
		AllowedLogoutURLs: list(d.AllowedLogoutURLs), GrantTypes: list(d.GrantTypes),
		TokenEndpointAuthMethod: d.TokenEndpointAuthMethod, ClientMetadata: meta,
		JWTConfiguration: storage.JWTConfiguration(d.JWTConfiguration), RefreshToken: storage.RefreshTokenPolicy(d.RefreshToken),
		AllowPlainPKCE: d.AllowPlainPKCE, CreatedAt: timeVal(d.CreatedAt), UpdatedAt: timeVal(d.UpdatedAt),
		CrossOriginAuthentication: d.CrossOrigin, SSODisabled: d.SSODisabled, InitiateLoginURI: d.InitiateLoginURI,
	}, nil
}

func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	d := newClientDoc(c)
	d.Version = 1
	_, err := s.clients.InsertOne(ctx, d)
	return dbError(fmt.Sprintf("create client %q", c.ID), err)
}

func decodeClient(op string, raw bson.Raw, err error) (storage.Client, error) {
	if err != nil {
		return storage.Client{}, dbError(op, err)
	}
	var d clientDoc
	if err := bson.Unmarshal(raw, &d); err != nil {
		return storage.Client{}, dbError(op, err)
	}
	c, err := d.client()
	if err != nil {
		return storage.Client{}, fmt.Errorf("mongo: %s: %w", op, err)
	}
	return c, nil
}

func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	raw, err := s.clients.FindOne(ctx, byID(id)).Raw()
	return decodeClient(fmt.Sprintf("get client %q", id), raw, err)
}

func (s *Store) ListClients(ctx context.Context, page storage.Page) ([]storage.Client, int, error) {
	const op = "list clients"
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	total, err := s.clients.CountDocuments(ctx, bson.D{})
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	cur, err := s.clients.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).
		SetSkip(int64(page.Offset())).SetLimit(int64(page.PerPage)))
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	clients, err := collect(ctx, op, cur, func(raw bson.Raw) (storage.Client, error) { return decodeClient(op, raw, nil) })
	if err != nil {
		return nil, 0, err
	}
	return clients, int(total), nil
}

// collect decodes every document of a cursor, and closes it.
func collect[T any](ctx context.Context, op string, cur *mongo.Cursor, decode func(bson.Raw) (T, error)) ([]T, error) {
	defer cur.Close(ctx)
	out := []T{}
	for cur.Next(ctx) {
		v, err := decode(cur.Current)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := cur.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}

// UpdateClient is a compare-and-swap on the client's version (see casUpdate).
func (s *Store) UpdateClient(ctx context.Context, id string, update func(storage.Client) (storage.Client, error)) (storage.Client, error) {
	op := fmt.Sprintf("update client %q", id)
	var out storage.Client
	err := s.casUpdate(ctx, s.clients, op, id, nil, func(raw bson.Raw) (bson.D, []string, error) {
		old, err := decodeClient(op, raw, nil)
		if err != nil {
			return nil, nil, err
		}
		nc, err := update(old)
		if err != nil {
			return nil, nil, err
		}
		nc.ID = id
		d := newClientDoc(nc)
		// Decoded from the document, not nc: the caller gets a value that shares no slice
		// or map with the one its updater built.
		if out, err = d.client(); err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		return fields(d, clientTimes...)
	})
	if err != nil {
		return storage.Client{}, err
	}
	return out, nil
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete client %q", id)
	return s.locked(ctx, op, func() error { return deleteOne(ctx, s.clients, op, byID(id)) }, lockKey(s.clients, id))
}

// deleteOne deletes the document filter matches; ErrNotFound when there is none.
func deleteOne(ctx context.Context, coll *mongo.Collection, op string, filter bson.D) error {
	res, err := coll.DeleteOne(ctx, filter)
	if err != nil {
		return dbError(op, err)
	}
	if res.DeletedCount == 0 {
		return notFound(op)
	}
	return nil
}

type clientGrantDoc struct {
	ID       string   `bson:"_id"`
	ClientID string   `bson:"client_id"`
	Audience string   `bson:"audience"`
	Scope    []string `bson:"scope"`
}

func (d clientGrantDoc) grant() storage.ClientGrant {
	return storage.ClientGrant{ID: d.ID, ClientID: d.ClientID, Audience: d.Audience, Scope: list(d.Scope)}
}

func (s *Store) CreateClientGrant(ctx context.Context, g storage.ClientGrant) error {
	_, err := s.clientGrants.InsertOne(ctx, clientGrantDoc{ID: g.ID, ClientID: g.ClientID, Audience: g.Audience, Scope: list(g.Scope)})
	return dbError(fmt.Sprintf("create client grant %q", g.ID), err)
}

func (s *Store) GetClientGrant(ctx context.Context, clientID, audience string) (storage.ClientGrant, error) {
	var d clientGrantDoc
	err := s.clientGrants.FindOne(ctx, bson.D{{Key: "client_id", Value: clientID}, {Key: "audience", Value: audience}}).Decode(&d)
	if err != nil {
		return storage.ClientGrant{}, dbError(fmt.Sprintf("get client grant of %q for %q", clientID, audience), err)
	}
	return d.grant(), nil
}

func (s *Store) ListClientGrants(ctx context.Context, clientID string) ([]storage.ClientGrant, error) {
	op := fmt.Sprintf("list client grants of %q", clientID)
	cur, err := s.clientGrants.Find(ctx, bson.D{{Key: "client_id", Value: clientID}},
		options.Find().SetSort(bson.D{{Key: "audience", Value: 1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (storage.ClientGrant, error) {
		var d clientGrantDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return storage.ClientGrant{}, dbError(op, err)
		}
		return d.grant(), nil
	})
}

func (s *Store) DeleteClientGrant(ctx context.Context, id string) error {
	return deleteOne(ctx, s.clientGrants, fmt.Sprintf("delete client grant %q", id), byID(id))
}
