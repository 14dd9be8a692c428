package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Limits of the client.
const (
	requestTimeout = time.Minute
	maxAnswerBytes = 64 << 20
	// maxRetries bounds the retries of one request that latch answers with 429; maxRetryWait
	// bounds one wait (a longer Retry-After is reported rather than waited out).
	maxRetries   = 5
	maxRetryWait = 2 * time.Minute
)

// client is the part of the Management API the CLI uses. The token is fetched once, with
// the first call, and reused for the whole run.
type client struct {
	base       string // latch's URL, no trailing slash
	http       *http.Client
	cr         credentials
	env        Env
	token      string
	tokenScope string // what the token was granted
}

func newClient(cr credentials, env Env) (*client, error) {
	u, err := url.Parse(cr.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--url %q: want an http(s) URL such as %s", cr.url, defaultURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsConf, err := tlsConfig(cr)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig = tlsConf
	if cr.insecure {
		fmt.Fprintln(env.Stderr, "warning: --insecure-skip-verify: latch's TLS certificate is not verified")
	}
	return &client{
		base: strings.TrimSuffix(cr.url, "/"), cr: cr, env: env,
		http: &http.Client{Transport: tr},
	}, nil
}

// tlsConfig trusts the system's CAs and --ca-file's.
func tlsConfig(cr credentials) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cr.insecure} //nolint:gosec // opt-in flag, warned about
	if cr.caFile == "" {
		return conf, nil
	}
	pem, err := readFileLimited(cr.caFile, 1<<20)
	if err != nil {
		return nil, usageErrorf("--ca-file: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageErrorf("--ca-file %s: no PEM certificate in it", cr.caFile)
	}
	conf.RootCAs = pool
	return conf, nil
}

// ---------------------------------------------------------------------------------------
// Errors

// unreachableError is a request that got no answer at all.
type unreachableError struct {
	url string
	err error
}

func (e *unreachableError) Error() string {
	msg := fmt.Sprintf("cannot reach latch at %s: %v", e.url, e.err)
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	if errors.As(e.err, &unknown) || errors.As(e.err, &verify) {
		msg += " (a self-signed latch? pass --ca-file with its certificate, e.g. <data_dir>/tls/cert.pem)"
	}
	return msg
}

func (e *unreachableError) Unwrap() error { return e.err }

// apiError is an error answer from latch: the Management API's body ({statusCode, error,
// message, errorCode}) or the OAuth one ({error, error_description}).
type apiError struct {
	Status  int
	Code    string // errorCode, or the OAuth error
	Message string
	Op      string // "GET /api/v2/rules"
	// scopeHint says that --token-scope was used, which may be why a scope is missing.
	scopeHint bool
}

func (e *apiError) Error() string {
	if e.Status == http.StatusForbidden && e.Code == "insufficient_scope" {
		scopes := e.Message
		if _, after, ok := strings.Cut(e.Message, "expected any of:"); ok {
			scopes = strings.TrimSpace(after)
		}
		list := strings.Split(scopes, ",")
		for i := range list {
			list[i] = strings.TrimSpace(list[i])
		}
		// Any one of the scopes would do.
		msg := "the token lacks scope " + strings.Join(list, " or ")
		msg += " (" + e.Op + "); grant it to the Management API client"
		if e.scopeHint {
			msg += ", or leave it in --token-scope"
		}
		return msg
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" && !strings.Contains(msg, e.Code) {
		msg += " (" + e.Code + ")"
	}
	return fmt.Sprintf("%s: %d %s", e.Op, e.Status, msg)
}

// parseAPIError reads an error body; anything that is not one of latch's shapes is quoted.
func parseAPIError(op string, status int, body []byte) *apiError {
	var b struct {
		Message     string `json:"message"`
		ErrorCode   string `json:"errorCode"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	e := &apiError{Status: status, Op: op}
	if json.Unmarshal(body, &b) == nil {
		e.Message = b.Message
		if e.Message == "" {
			e.Message = b.Description
		}
		e.Code = b.ErrorCode
		if e.Code == "" && b.Description != "" {
			e.Code = b.Error // OAuth: error is the code; Management: error is the status text
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	return e
}

// ---------------------------------------------------------------------------------------
// Requests

// login gets the Management API token: client_credentials at /oauth/token for the audience
// <issuer>api/v2/. The issuer comes from discovery, so that a latch reached through another
// URL than its public one (a private address, a port-forward) still gets the right audience.
func (c *client) login(ctx context.Context) error {
	if c.token != "" {
		return nil
	}
	audience := c.base + "/api/v2/"
	var disc struct {
		Issuer string `json:"issuer"`
	}
	err := c.send(ctx, "GET /.well-known/openid-configuration", func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/.well-known/openid-configuration", nil)
	}, &disc)
	var ae *apiError
	switch {
	case err == nil && disc.Issuer != "":
		audience = strings.TrimSuffix(disc.Issuer, "/") + "/api/v2/"
	case errors.As(err, &ae):
		// Not a latch, or an old one: try the URL itself as the issuer.
	case err != nil:
		return err
	}
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.cr.clientID},
		"client_secret": {c.cr.clientSecret}, "audience": {audience},
	}
	if c.cr.tokenScope != "" {
		form.Set("scope", c.cr.tokenScope)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	err = c.send(ctx, "POST /oauth/token", func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/oauth/token", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	}, &tok)
	if errors.As(err, &ae) {
		if ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden {
			return &apiError{Status: ae.Status, Code: ae.Code, Op: ae.Op,
				Message: fmt.Sprintf("latch refused the credentials of client %s: %s", c.cr.clientID, ae.Message)}
		}
		return fmt.Errorf("getting a Management API token: %w", err)
	}
	if err != nil {
		return err
	}
	if tok.AccessToken == "" {
		return errors.New("POST /oauth/token: latch answered without an access_token")
	}
	c.token, c.tokenScope = tok.AccessToken, tok.Scope
	return nil
}

// call sends a JSON request to the Management API (path starts with /api/v2/) and decodes
// a 2xx answer into out (nil: ignored; *json.RawMessage: kept as sent).
func (c *client) call(ctx context.Context, method, path string, body, out any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	return c.callRaw(ctx, method, path, "application/json", data, body != nil, out)
}

// callRaw sends a body of the given content type (hasBody false: none).
func (c *client) callRaw(ctx context.Context, method, path, contentType string, data []byte, hasBody bool, out any) error {
	if err := c.login(ctx); err != nil {
		return err
	}
	op := method + " " + strings.SplitN(path, "?", 2)[0]
	err := c.send(ctx, op, func() (*http.Request, error) {
		var r io.Reader
		if hasBody {
			r = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
		if err != nil {
			return nil, err
		}
		if hasBody {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		return req, nil
	}, out)
	var ae *apiError
	if errors.As(err, &ae) && c.cr.tokenScope != "" {
		ae.scopeHint = true
	}
	return err
}

// send sends the request newReq builds (again for each retry), retrying a 429 after the
// Retry-After latch gives, a bounded number of times.
func (c *client) send(ctx context.Context, op string, newReq func() (*http.Request, error), out any) error {
	for attempt := 0; ; attempt++ {
		req, err := newReq()
		if err != nil {
			return err
		}
		reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
		resp, err := c.http.Do(req.WithContext(reqCtx))
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &unreachableError{url: c.base, err: unwrapURLError(err)}
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
		resp.Body.Close()
		cancel()
		if err != nil {
			return &unreachableError{url: c.base, err: fmt.Errorf("reading the answer to %s: %w", op, err)}
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			wait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if attempt >= maxRetries || wait > maxRetryWait {
				e := parseAPIError(op, resp.StatusCode, body)
				e.Message = fmt.Sprintf("latch is rate limiting (asked to wait %v; gave up after %d tries): %s", wait, attempt+1, e.Message)
				return e
			}
			fmt.Fprintf(c.env.Stderr, "latch is rate limiting %s; retrying in %v\n", op, wait)
			if err := c.env.wait(ctx, wait); err != nil {
				return err
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			return parseAPIError(op, resp.StatusCode, body)
		}
		return decodeInto(op, body, out)
	}
}

func decodeInto(op string, body []byte, out any) error {
	switch o := out.(type) {
	case nil:
		return nil
	case *json.RawMessage:
		*o = append(json.RawMessage(nil), body...)
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: latch's answer is not what the CLI expects: %w", op, err)
	}
	return nil
}

// retryAfter reads Retry-After: seconds or an HTTP date; a second when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
		return 0
	}
	return time.Second
}

// unwrapURLError drops *url.Error's "Get \"http://...\":" prefix: the message says the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// getAll pages through a list endpoint that takes page, per_page and include_totals, and
// answers {total, <key>: [...]}; path has no query or ends in one.
func getAll[T any](ctx context.Context, c *client, path, key string) ([]T, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var all []T
	for page := 0; ; page++ {
		var env map[string]json.RawMessage
		p := fmt.Sprintf("%s%spage=%d&per_page=100&include_totals=true", path, sep, page)
		if err := c.call(ctx, http.MethodGet, p, nil, &env); err != nil {
			return nil, err
		}
		var items []T
		if err := json.Unmarshal(env[key], &items); err != nil {
			return nil, fmt.Errorf("GET %s: no %q list in the answer", path, key)
		}
		var total int
		_ = json.Unmarshal(env["total"], &total)
		all = append(all, items...)
		if len(items) == 0 || len(all) >= total {
			return all, nil
		}
	}
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
