package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
)

// signingKey is a key as GET /api/v2/keys/signing lists it.
type signingKey struct {
	KID          string `json:"kid"`
	Fingerprint  string `json:"fingerprint"`
	Current      bool   `json:"current"`
	Next         bool   `json:"next"`
	Previous     bool   `json:"previous"`
	Revoked      bool   `json:"revoked"`
	CurrentSince string `json:"current_since"`
	CurrentUntil string `json:"current_until"`
	RevokedAt    string `json:"revoked_at"`
}

func (k signingKey) state() string {
	switch {
	case k.Current:
		return "current"
	case k.Next:
		return "next"
	case k.Previous:
		return "previous"
	case k.Revoked:
		return "revoked"
	}
	return "-"
}

func listKeys(ctx context.Context, c *client) ([]signingKey, json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/api/v2/keys/signing", nil, &raw); err != nil {
		return nil, nil, err
	}
	var keys []signingKey
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, nil, fmt.Errorf("GET /api/v2/keys/signing: %w", err)
	}
	return keys, raw, nil
}

func keysList(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	if _, err := cmd.parse(args, "latch keys list", 0); err != nil {
		return err
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	keys, raw, err := listKeys(ctx, c)
	if err != nil {
		return err
	}
	if cmd.json() {
		return writeJSON(cmd.stdout(), raw)
	}
	tw := tabwriter.NewWriter(cmd.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tCURRENT_SINCE\tCURRENT_UNTIL\tREVOKED_AT\tFINGERPRINT")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.state(), dash(k.CurrentSince), dash(k.CurrentUntil), dash(k.RevokedAt), k.Fingerprint)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// keysRotate makes the next key (already published in the JWKS) the signing one; the
// current becomes previous and keeps verifying until it is revoked.
func keysRotate(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	if _, err := cmd.parse(args, "latch keys rotate", 0); err != nil {
		return err
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodPost, "/api/v2/keys/signing/rotate", nil, &raw); err != nil {
		return err
	}
	var k struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &k); err != nil || k.KID == "" {
		return fmt.Errorf("POST /api/v2/keys/signing/rotate: no kid in the answer")
	}
	if cmd.json() {
		return writeJSON(cmd.stdout(), map[string]string{"kid": k.KID})
	}
	fmt.Fprintf(cmd.stdout(), "latch now signs with key %s; the previous key keeps verifying tokens until you revoke it (latch keys revoke KID)\n", k.KID)
	return nil
}

// keysRevoke revokes a previous key: tokens it signed stop verifying at once, so it asks.
func keysRevoke(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	yes := cmd.fs.Bool("yes", false, "revoke without asking (for CI)")
	pos, err := cmd.parse(args, "latch keys revoke KID [--yes]", 1)
	if err != nil {
		return err
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	if !*yes {
		if err := confirm(env, fmt.Sprintf("Revoke signing key %s? Tokens it signed stop verifying at once.", pos[0])); err != nil {
			return err
		}
	}
	var raw json.RawMessage
	err = c.call(ctx, http.MethodPut, "/api/v2/keys/signing/"+url.PathEscape(pos[0])+"/revoke", nil, &raw)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("latch has no signing key %s (latch keys list)", pos[0])
	}
	if err != nil {
		return err
	}
	if cmd.json() {
		return writeJSON(cmd.stdout(), map[string]string{"kid": pos[0], "state": "revoked"})
	}
	fmt.Fprintf(cmd.stdout(), "revoked signing key %s\n", pos[0])
	return nil
}
