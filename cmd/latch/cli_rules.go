package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// rulesCommand runs `latch rules ...`. For now: `latch rules test FILE --user EMAIL --app
// CLIENT_ID`, a dry run of FILE against a running latch through the Management API.
func rulesCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, "usage: latch rules test FILE --user EMAIL --app CLIENT_ID [--replace RULE_ID] [--scope S]")
		return 2
	}
	fs := flag.NewFlagSet("latch rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", envOr(getenv, "LATCH_URL", "http://localhost:8080"), "latch's URL (env LATCH_URL)")
	clientID := fs.String("client-id", getenv("LATCH_CLIENT_ID"), "Management API client id (env LATCH_CLIENT_ID)")
	clientSecret := fs.String("client-secret", getenv("LATCH_CLIENT_SECRET"), "its secret (env LATCH_CLIENT_SECRET)")
	email := fs.String("user", "", "email of the user to log in (required)")
	app := fs.String("app", "", "client_id of the application the login is for (required)")
	replace := fs.String("replace", "", "id of the saved rule the file stands in for (default: run it after the rules)")
	scope := fs.String("scope", "openid profile email", "scopes of the login")
	// The file may come before or after the flags.
	var file string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		file, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	var missing []string
	for name, v := range map[string]string{"FILE": file, "--user": *email, "--app": *app, "--client-id": *clientID, "--client-secret": *clientSecret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "latch rules test: missing %s\n", strings.Join(missing, ", "))
		return 2
	}
	script, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "latch rules test: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &mgmtClient{base: strings.TrimSuffix(*base, "/"), http: &http.Client{Timeout: 30 * time.Second}}
	result, err := c.dryRun(ctx, *clientID, *clientSecret, *email, *app, *replace, *scope, string(script))
	if err != nil {
		fmt.Fprintf(stderr, "latch rules test: %v\n", err)
		return 1
	}
	var out bytes.Buffer
	_ = json.Indent(&out, result, "", "  ")
	fmt.Fprintln(stdout, out.String())
	var r struct{ Outcome string }
	_ = json.Unmarshal(result, &r)
	if r.Outcome != "ok" {
		return 1
	}
	return 0
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// mgmtClient is the little of the Management API the CLI needs.
type mgmtClient struct {
	base  string
	http  *http.Client
	token string
}

func (c *mgmtClient) dryRun(ctx context.Context, id, secret, email, app, replace, scope, script string) (json.RawMessage, error) {
	if err := c.login(ctx, id, secret); err != nil {
		return nil, err
	}
	var users []struct {
		UserID     string `json:"user_id"`
		Identities []struct {
			Connection string `json:"connection"`
		} `json:"identities"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(email), nil, &users); err != nil {
		return nil, err
	}
	switch len(users) {
	case 0:
		return nil, fmt.Errorf("no user has the email %s", email)
	case 1:
	default:
		var ids []string
		for _, u := range users {
			ids = append(ids, u.UserID)
		}
		return nil, fmt.Errorf("several users have the email %s (%s)", email, strings.Join(ids, ", "))
	}
	rule := map[string]string{"script": script}
	if replace != "" {
		rule["id"] = replace
	}
	var result json.RawMessage
	err := c.do(ctx, http.MethodPost, "/api/v2/rules/try", map[string]any{
		"user_id": users[0].UserID, "client_id": app, "scope": scope, "rule": rule,
	}, &result)
	return result, err
}

func (c *mgmtClient) login(ctx context.Context, id, secret string) error {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "audience": {c.base + "/api/v2/"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.send(req, &tok); err != nil {
		return fmt.Errorf("management token: %w", err)
	}
	c.token = tok.AccessToken
	return nil
}

func (c *mgmtClient) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	return c.send(req, out)
}

// send sends a request and decodes a 2xx answer; anything else becomes an error that quotes
// the server's message.
func (c *mgmtClient) send(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message     string `json:"message"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(data, &e)
		msg := e.Message + e.Description
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		return errors.New(resp.Status + ": " + msg)
	}
	return json.Unmarshal(data, out)
}
