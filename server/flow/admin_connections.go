package flow

// The Management API's connection use cases: change a database connection's options (the
// password policy, the common-password dictionary, requires_username) and the clients that may
// use it. Connections are read from the store at every signup and login (nothing caches
// them), so a change applies to the next request.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/storage"
)

// PasswordPolicies are the presets of options.passwordPolicy.
var PasswordPolicies = []string{
	password.PresetNone, password.PresetLow, password.PresetFair, password.PresetGood, password.PresetExcellent,
}

// AdminConnectionPatch is the body of PATCH /api/v2/connections/{id}.
type AdminConnectionPatch struct {
	// Options, when given, replaces the connection's options as a whole, as Auth0 does:
	// an option left out goes back to its default.
	Options *ConnectionOptionsPatch
	// EnabledClients replaces the list; null means every client. An empty list is refused:
	// latch has no way to keep every client out of a connection.
	EnabledClients Patch[[]string]
}

// ConnectionOptionsPatch is the options object of a PATCH. Absent and null are the same:
// the option's default (no preset, no minimum-length override, no dictionary, no username).
type ConnectionOptionsPatch struct {
	PasswordPolicy Patch[string]
	// MinLength is password_complexity_options.min_length.
	MinLength Patch[int]
	// PasswordDictionary is password_dictionary.enable.
	PasswordDictionary Patch[bool]
	// Dictionary is password_dictionary.dictionary: latch has no custom dictionary, so only
	// an empty one is accepted.
	Dictionary       []string
	RequiresUsername Patch[bool]
	// BruteForceProtection is always on in latch; false is refused.
	BruteForceProtection Patch[bool]
}

// AdminUpdateConnection validates a patch and applies it in one storage update. An unknown id
// (or a connection that is not a database connection) is storage.ErrNotFound.
func (s *Service) AdminUpdateConnection(ctx context.Context, id string, p AdminConnectionPatch) (storage.Connection, error) {
	var opts storage.ConnectionOptions
	if p.Options != nil {
		var err error
		if opts, err = connectionOptions(*p.Options); err != nil {
			return storage.Connection{}, err
		}
	}
	var enabled []string
	if p.EnabledClients.given() {
		if len(p.EnabledClients.Value) == 0 {
			return storage.Connection{}, payloadError("enabled_clients", "'latch cannot disable a connection for every client; send null to enable it for every client' on property enabled_clients.")
		}
		for i, cid := range p.EnabledClients.Value {
			if slices.Contains(enabled, cid) {
				continue
			}
			if _, err := s.clients.GetClient(ctx, cid); errors.Is(err, storage.ErrNotFound) {
				return storage.Connection{}, payloadError("enabled_clients", "'The client does not exist: %s' on property enabled_clients[%d].", quoteInput(cid), i)
			} else if err != nil {
				return storage.Connection{}, fmt.Errorf("read client: %w", err)
			}
			enabled = append(enabled, cid)
		}
	}
	return s.connections.UpdateConnection(ctx, id, func(c storage.Connection) (storage.Connection, error) {
		if c.Strategy != "auth0" {
			return c, storage.ErrNotFound
		}
		if p.Options != nil {
			c.Options = opts
		}
		if p.EnabledClients.Set {
			c.EnabledClients = enabled // nil when null: every client
		}
		return c, nil
	})
}

// connectionOptions checks a PATCH's options and builds what replaces the stored ones.
func connectionOptions(o ConnectionOptionsPatch) (storage.ConnectionOptions, error) {
	opts := storage.ConnectionOptions{PasswordPolicy: password.PresetNone}
	if o.PasswordPolicy.given() {
		if err := checkEnum("options.passwordPolicy", o.PasswordPolicy, PasswordPolicies); err != nil {
			return opts, err
		}
		opts.PasswordPolicy = o.PasswordPolicy.Value
	}
	if o.MinLength.given() {
		if n := o.MinLength.Value; n < password.MinLengthFloor || n > password.MinLengthCeiling {
			return opts, payloadError("options.password_complexity_options.min_length",
				"'Value %d is out of range %d to %d' on property options.password_complexity_options.min_length.",
				n, password.MinLengthFloor, password.MinLengthCeiling)
		}
		opts.MinLength = o.MinLength.Value
	}
	if len(o.Dictionary) > 0 {
		return opts, payloadError("options.password_dictionary.dictionary",
			"'latch has no custom dictionary: only an empty list is accepted' on property options.password_dictionary.dictionary.")
	}
	if o.BruteForceProtection.given() && !o.BruteForceProtection.Value {
		return opts, payloadError("options.brute_force_protection",
			"'latch always protects database connections against brute force: only true is accepted' on property options.brute_force_protection.")
	}
	opts.PasswordDictionary = o.PasswordDictionary.given() && o.PasswordDictionary.Value
	opts.RequiresUsername = o.RequiresUsername.given() && o.RequiresUsername.Value
	return opts, nil
}
