package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema's history. The database's PRAGMA user_version counts the
// steps already applied. Append only: a released step never changes, since databases in
// the field have already run it.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE users (
	id                  TEXT PRIMARY KEY,
	connection          TEXT NOT NULL,
	email               TEXT NOT NULL DEFAULT '',
	email_verified      INTEGER NOT NULL DEFAULT 0,
	username            TEXT NOT NULL DEFAULT '',
	phone_number        TEXT NOT NULL DEFAULT '',
	phone_verified      INTEGER NOT NULL DEFAULT 0,
	name                TEXT NOT NULL DEFAULT '',
	nickname            TEXT NOT NULL DEFAULT '',
	given_name          TEXT NOT NULL DEFAULT '',
	family_name         TEXT NOT NULL DEFAULT '',
	picture             TEXT NOT NULL DEFAULT '',
	user_metadata       TEXT NOT NULL DEFAULT '{}',
	app_metadata        TEXT NOT NULL DEFAULT '{}',
	blocked             INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER,
	updated_at          INTEGER,
	last_login          INTEGER,
	last_ip             TEXT NOT NULL DEFAULT '',
	logins_count        INTEGER NOT NULL DEFAULT 0,
	last_password_reset INTEGER
) STRICT;
-- Users without an email (or username) must not collide with each other.
CREATE UNIQUE INDEX users_connection_email ON users (connection, email) WHERE email <> '';
CREATE UNIQUE INDEX users_connection_username ON users (connection, username) WHERE username <> '';
CREATE INDEX users_email_created ON users (email, created_at);
CREATE INDEX users_created ON users (created_at, id);

-- Hashes live apart from profiles, so that no query for a user can carry one.
CREATE TABLE passwords (
	user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	hash    TEXT NOT NULL
) STRICT;

CREATE TABLE clients (
	id                         TEXT PRIMARY KEY,
	secret                     TEXT NOT NULL DEFAULT '',
	name                       TEXT NOT NULL DEFAULT '',
	description                TEXT NOT NULL DEFAULT '',
	app_type                   TEXT NOT NULL DEFAULT '',
	is_first_party             INTEGER NOT NULL DEFAULT 0,
	oidc_conformant            INTEGER NOT NULL DEFAULT 0,
	callbacks                  TEXT NOT NULL DEFAULT '[]',
	allowed_origins            TEXT NOT NULL DEFAULT '[]',
	web_origins                TEXT NOT NULL DEFAULT '[]',
	allowed_logout_urls        TEXT NOT NULL DEFAULT '[]',
	grant_types                TEXT NOT NULL DEFAULT '[]',
	token_endpoint_auth_method TEXT NOT NULL DEFAULT '',
	client_metadata            TEXT NOT NULL DEFAULT '{}',
	jwt_configuration          TEXT NOT NULL DEFAULT '{}',
	created_at                 INTEGER,
	updated_at                 INTEGER
) STRICT;
CREATE INDEX clients_created ON clients (created_at, id);

CREATE TABLE client_grants (
	id        TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	audience  TEXT NOT NULL,
	scope     TEXT NOT NULL DEFAULT '[]',
	UNIQUE (client_id, audience)
) STRICT;

CREATE TABLE connections (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	strategy        TEXT NOT NULL DEFAULT '',
	options         TEXT NOT NULL DEFAULT '{}',
	enabled_clients TEXT NOT NULL DEFAULT '[]',
	created_at      INTEGER
) STRICT;

CREATE TABLE signing_keys (
	kid           TEXT PRIMARY KEY,
	alg           TEXT NOT NULL DEFAULT '',
	public_der    BLOB,
	cert_der      BLOB,
	sealed_priv   BLOB,
	state         TEXT NOT NULL DEFAULT '',
	created_at    INTEGER,
	current_since INTEGER,
	current_until INTEGER,
	revoked_at    INTEGER
) STRICT;
-- At most one key signs at a time, even when instances race to create the first one.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys(state) WHERE state = 'current';

CREATE TABLE grants (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	audience   TEXT NOT NULL DEFAULT '',
	scope      TEXT NOT NULL DEFAULT '',
	claims     TEXT NOT NULL DEFAULT '{}',
	created_at INTEGER,
	expires_at INTEGER
) STRICT;
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_expires ON grants (expires_at);
`,
	// 2: rules and rules-configs.
	`
CREATE TABLE rules (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	enabled    INTEGER NOT NULL DEFAULT 1,
	script     TEXT NOT NULL DEFAULT '',
	rule_order INTEGER NOT NULL,
	stage      TEXT NOT NULL,
	created_at INTEGER,
	updated_at INTEGER,
	-- Rules of a stage run in order, so two of them cannot share one.
	UNIQUE (stage, rule_order)
) STRICT;

-- Values are sealed before they get here: the database alone does not reveal them.
CREATE TABLE rules_configs (
	key          TEXT PRIMARY KEY,
	sealed_value BLOB NOT NULL
) STRICT;
`,
	// 3: actions and their trigger bindings.
	`
CREATE TABLE actions (
	id                 TEXT PRIMARY KEY,
	name               TEXT NOT NULL UNIQUE,
	code               TEXT NOT NULL DEFAULT '',
	runtime            TEXT NOT NULL DEFAULT '',
	supported_triggers TEXT NOT NULL DEFAULT '[]',
	deployed           INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER,
	updated_at         INTEGER
) STRICT;
CREATE INDEX actions_created ON actions (created_at, id);

CREATE TABLE action_bindings (
	id            TEXT PRIMARY KEY,
	trigger_id    TEXT NOT NULL,
	action_id     TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
	binding_order INTEGER NOT NULL,
	display_name  TEXT NOT NULL DEFAULT '',
	UNIQUE (trigger_id, binding_order)
) STRICT;
CREATE INDEX action_bindings_action ON action_bindings (action_id);
`,
	// 4: refresh tokens; clients' refresh-token policy and plain PKCE.
	`
-- id is the token's SHA-256: the token itself is never stored. Times are NULL for "never".
CREATE TABLE refresh_tokens (
	id              TEXT PRIMARY KEY,
	family_id       TEXT NOT NULL,
	user_id         TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	audience        TEXT NOT NULL DEFAULT '',
	scope           TEXT NOT NULL DEFAULT '',
	session_id      TEXT NOT NULL DEFAULT '',
	auth_time       INTEGER,
	created_at      INTEGER,
	expires_at      INTEGER,
	idle_expires_at INTEGER,
	rotated_at      INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
-- The expiry sweep looks up each bound through its own index (tokens without it are left out).
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX refresh_tokens_idle_expires ON refresh_tokens (idle_expires_at) WHERE idle_expires_at IS NOT NULL;

-- Existing clients read back the zero policy: the service, not the store, applies defaults.
ALTER TABLE clients ADD COLUMN refresh_token TEXT NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN allow_plain_pkce INTEGER NOT NULL DEFAULT 0;
`,
	// 5: the auth event log.
	`
-- Rows never change once written; the retention sweep deletes the oldest by date.
CREATE TABLE events (
	id            TEXT PRIMARY KEY,
	type          TEXT NOT NULL,
	date          INTEGER NOT NULL,
	description   TEXT NOT NULL DEFAULT '',
	user_id       TEXT NOT NULL DEFAULT '',
	user_name     TEXT NOT NULL DEFAULT '',
	client_id     TEXT NOT NULL DEFAULT '',
	client_name   TEXT NOT NULL DEFAULT '',
	connection    TEXT NOT NULL DEFAULT '',
	connection_id TEXT NOT NULL DEFAULT '',
	strategy      TEXT NOT NULL DEFAULT '',
	strategy_type TEXT NOT NULL DEFAULT '',
	audience      TEXT NOT NULL DEFAULT '',
	scope         TEXT NOT NULL DEFAULT '',
	ip            TEXT NOT NULL DEFAULT '',
	user_agent    TEXT NOT NULL DEFAULT '',
	hostname      TEXT NOT NULL DEFAULT '',
	details       TEXT NOT NULL DEFAULT '{}'
) STRICT;
-- Lists go newest first within one filter; id breaks ties within a millisecond.
CREATE INDEX events_date ON events (date, id);
CREATE INDEX events_type_date ON events (type, date, id);
CREATE INDEX events_user_date ON events (user_id, date, id);
CREATE INDEX events_client_date ON events (client_id, date, id);
`,
	// 6: user search (search.go): user_search, filled right after this step by
	// indexAllUsers; the index of email.domain (the expression of emailDomain); a covering
	// index for conditions on scalar columns of users found through user_search.
	`
-- One row per (field, kind, value, user): lower-cased names and metadata scalars under their
-- dotted path. kind: 's' string, 'n' number, 'b' boolean (0/1).
CREATE TABLE user_search (
	field   TEXT NOT NULL,
	kind    TEXT NOT NULL,
	value   ANY NOT NULL,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (field, kind, value, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_search_user ON user_search (user_id);
CREATE INDEX users_email_domain ON users ((CASE WHEN instr(email, '@') > 0 THEN substr(email, length(rtrim(email, replace(email, '@', ''))) + 1) ELSE '' END));
-- A search that finds users through user_search tests the scalar columns here without
-- reading the rows (user_metadata.plan:gold AND logins_count:[5 TO *]).
CREATE INDEX users_search_filter ON users (id, logins_count, blocked, created_at, updated_at, last_login);
`,
	// 7: Management API jobs (user imports and exports).
	`
-- data holds the rest of the job as JSON; input is an import's file (dropped when the job
-- ends), output an export's file.
CREATE TABLE jobs (
	id         TEXT PRIMARY KEY,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	data       TEXT NOT NULL,
	input      BLOB,
	output     BLOB
) STRICT;
CREATE INDEX jobs_unfinished ON jobs (created_at) WHERE status IN ('pending', 'processing');
CREATE INDEX jobs_expires ON jobs (expires_at) WHERE expires_at IS NOT NULL;
`,
	// 8: tickets: the single-use secrets of emailed links (verify, reset, unblock).
	`
-- id is the token's SHA-256: the token itself is never stored. A used ticket is deleted.
CREATE TABLE tickets (
	id                        TEXT PRIMARY KEY,
	kind                      TEXT NOT NULL,
	user_id                   TEXT NOT NULL,
	email                     TEXT NOT NULL DEFAULT '',
	client_id                 TEXT NOT NULL DEFAULT '',
	result_url                TEXT NOT NULL DEFAULT '',
	include_email_in_redirect INTEGER NOT NULL DEFAULT 0,
	mark_email_verified       INTEGER NOT NULL DEFAULT 0,
	created_at                INTEGER NOT NULL,
	expires_at                INTEGER NOT NULL
) STRICT;
CREATE INDEX tickets_user ON tickets (user_id, kind);
CREATE INDEX tickets_expires ON tickets (expires_at);
`,
	// 9: tenant-wide settings (attack protection), a JSON document each.
	`
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
`,
	// 10: clients' cross_origin_authentication, sso_disabled and initiate_login_uri.
	`
ALTER TABLE clients ADD COLUMN cross_origin_authentication INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN sso_disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN initiate_login_uri TEXT NOT NULL DEFAULT '';
`,
}

// userSearchStep is the migration that creates user_search; migrate fills the table right
// after running it.
const userSearchStep = 6

// migrate applies the missing steps in one transaction: a database is either at its old
// version or fully migrated, and two processes opening it at once cannot both migrate
// (BEGIN IMMEDIATE makes the second wait, then it finds nothing to do).
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("migrate: database schema version %d is newer than this latch knows (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate: step %d: %w", i+1, err)
		}
		if i+1 == userSearchStep {
			if err := indexAllUsers(ctx, tx); err != nil {
				return fmt.Errorf("migrate: step %d: index users: %w", i+1, err)
			}
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return fmt.Errorf("migrate: set version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
