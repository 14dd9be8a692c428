package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/sqlite"
)

// The Node SDK tests run Auth0's own Management client (the `auth0` package, pinned in
// testdata/node-mgmt/package-lock.json) against latch over HTTPS, as an application would:
// a bare domain, the self-signed certificate trusted through NODE_EXTRA_CA_CERTS, and the
// client's id and secret, so the SDK fetches its own token. testdata/node-mgmt/mgmt.mjs
// prints what every call returned or threw; the test asserts on that report and on latch's
// state afterwards.

// nodeSDKDir is testdata/node-mgmt, seen from this package's directory.
var nodeSDKDir = filepath.Join("..", "..", "testdata", "node-mgmt")

// needNodeSDK finds node and the installed SDK. Missing either fails the test under CI and
// skips it elsewhere.
func needNodeSDK(t *testing.T) (node string) {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH (Debian package nodejs); scripts/test.sh installs it")
	}
	if _, err := os.Stat(filepath.Join(nodeSDKDir, "node_modules", "auth0", "package.json")); err != nil {
		missing("testdata/node-mgmt has no node_modules/auth0: run `npm ci` there (scripts/test.sh does)")
	}
	return node
}

// sdkReport is what mgmt.mjs prints.
type sdkReport struct {
	SDKVersion string             `json:"sdk_version"`
	RunID      string             `json:"run_id"`
	Steps      map[string]sdkStep `json:"steps"`
}

// sdkStep is one SDK call: its value, or (for a call expected to fail, Threw) its error. OK
// false means the call failed where it should have worked.
type sdkStep struct {
	OK    bool            `json:"ok"`
	Threw bool            `json:"threw"`
	Value json.RawMessage `json:"value"`
	Error *sdkError       `json:"error"`
}

// sdkError is what the SDK made of a failed call.
type sdkError struct {
	Name            string         `json:"name"`
	Message         string         `json:"message"`
	Class           string         `json:"class"` // the SDK's error class: NotFoundError, ConflictError, ...
	ManagementError bool           `json:"management_error"`
	StatusCode      int            `json:"statusCode"`
	Body            map[string]any `json:"body"`
}

// runNodeSDK runs mgmt.mjs against the TLS latch and returns its report.
func runNodeSDK(t *testing.T, node string, l *tlsLatch, certFile, runID string) sdkReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "mgmt.mjs")
	cmd.Dir = nodeSDKDir
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		// The certificate must be verified: nothing from the environment may turn that off.
		return strings.HasPrefix(kv, "NODE_TLS_REJECT_UNAUTHORIZED=")
	})
	cmd.Env = append(env,
		"LATCH_DOMAIN="+l.Addr,
		"LATCH_CLIENT_ID="+l.Config.BootstrapClientID,
		"LATCH_CLIENT_SECRET="+l.Config.BootstrapClientSecret,
		"LATCH_CONNECTION=Username-Password-Authentication",
		"LATCH_RUN_ID="+runID,
		"NODE_EXTRA_CA_CERTS="+certFile,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node mgmt.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	if stderr.Len() > 0 {
		t.Logf("node stderr:\n%s", stderr.String())
	}
	var r sdkReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	return r
}

// step returns a step that must have run and worked, decoded into v.
func (r sdkReport) step(t *testing.T, name string, v any) sdkStep {
	t.Helper()
	s, ok := r.Steps[name]
	if !ok {
		t.Fatalf("step %s did not run", name)
	}
	if !s.OK {
		t.Fatalf("step %s failed: %+v", name, s.Error)
	}
	if v != nil {
		if err := json.Unmarshal(s.Value, v); err != nil {
			t.Fatalf("step %s: %v in %s", name, err, s.Value)
		}
	}
	return s
}

// sdkFailure checks a step that had to throw: the SDK's error class, the status it read and
// Auth0's error body it parsed.
func (r sdkReport) sdkFailure(t *testing.T, name, class string, status int, errorCode, message string) {
	t.Helper()
	s := r.step(t, name, nil)
	if !s.Threw || s.Error == nil {
		t.Errorf("%s: the SDK returned %s, want a %s", name, s.Value, class)
		return
	}
	e := s.Error
	if e.Class != class || e.Name != class || !e.ManagementError || e.StatusCode != status {
		t.Errorf("%s: %s (class %q, ManagementError %v) status %d, want %s %d", name, e.Name, e.Class, e.ManagementError, e.StatusCode, class, status)
	}
	if got, _ := e.Body["statusCode"].(float64); int(got) != status || e.Body["error"] != http.StatusText(status) ||
		e.Body["errorCode"] != errorCode || (message != "" && e.Body["message"] != message) {
		t.Errorf("%s: body %v, want statusCode %d, error %q, errorCode %q, message %q", name, e.Body, status, http.StatusText(status), errorCode, message)
	}
}

// wantJSONEqual compares a decoded value with the JSON text want, ignoring key order.
func wantJSONEqual(t *testing.T, what string, got any, want string) {
	t.Helper()
	gotData, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(gotData, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, gotData, want)
	}
}

type sdkUser struct {
	UserID       string         `json:"user_id"`
	Email        string         `json:"email"`
	UserMetadata map[string]any `json:"user_metadata"`
	AppMetadata  map[string]any `json:"app_metadata"`
}

// sdkPage is what the SDK's Page offers: the parsed response, the items it found in it, and
// whether it would fetch another page.
type sdkPage[T any] struct {
	Response    json.RawMessage `json:"response"`
	Data        []T             `json:"data"`
	HasNextPage bool            `json:"has_next_page"`
}

type sdkEnvelope[T any] struct {
	Start  *int `json:"start"`
	Limit  *int `json:"limit"`
	Length *int `json:"length"`
	Total  *int `json:"total"`
	Users  []T  `json:"users"`
	Rules  []T  `json:"rules"`
}

func envelopeOf[T any](t *testing.T, what string, raw json.RawMessage) sdkEnvelope[T] {
	t.Helper()
	var e sdkEnvelope[T]
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("%s: response %s is not the include_totals envelope: %v", what, raw, err)
	}
	return e
}

func wantPaging(t *testing.T, what string, e sdkEnvelope[any], start, limit, total int) {
	t.Helper()
	if e.Start == nil || *e.Start != start || e.Limit == nil || *e.Limit != limit || e.Total == nil || *e.Total != total {
		t.Errorf("%s: start %v limit %v total %v, want %d %d %d", what, deref(e.Start), deref(e.Limit), deref(e.Total), start, limit, total)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

type sdkRule struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	Script  string `json:"script"`
	Order   int    `json:"order"`
	Stage   string `json:"stage"`
}

type sdkJob struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Status       string `json:"status"`
	ConnectionID string `json:"connection_id"`
	ExternalID   string `json:"external_id"`
	Location     string `json:"location"`
	Summary      *struct {
		Failed, Updated, Inserted, Total int
	} `json:"summary"`
}

// Connections created beside the default one, with ids that sort before and after its
// random one, so that paging by id has to cross it.
var extraConnections = []storage.Connection{
	{ID: "con_0000000000000000", Name: "node-sdk-first", Strategy: "auth0"},
	{ID: "con_ffffffffffffffff", Name: "node-sdk-last", Strategy: "auth0"},
}

// addConnections writes connections into a stopped latch's store (the Management API creates
// none).
func addConnections(t *testing.T, dataDir string, conns ...storage.Connection) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(dataDir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, c := range conns {
		c.CreatedAt = storage.Now()
		if err := store.CreateConnection(context.Background(), c); err != nil {
			t.Fatalf("create connection %s: %v", c.Name, err)
		}
	}
}

func TestNodeSDKManagementClient(t *testing.T) {
	node := needNodeSDK(t)
	l := startTLSLatch(t, func(c *Config) { c.TLSSelfSigned = true })
	certFile := filepath.Join(l.Config.DataDir, "tls", "cert.pem")
	l.Stop()
	addConnections(t, l.Config.DataDir, extraConnections...)
	l.Restart()

	r := runNodeSDK(t, node, l, certFile, "go1")
	t.Logf("auth0 (Node SDK) %s", r.SDKVersion)
	if !strings.HasPrefix(r.SDKVersion, "7.") {
		t.Errorf("SDK version %q, want the pinned 7.x", r.SDKVersion)
	}
	for name, s := range r.Steps {
		if !s.OK {
			t.Errorf("step %s failed: %+v", name, s.Error)
		}
	}
	email := func(n string) string { return "node-" + n + "-" + r.RunID + "@example.com" }

	t.Run("users", func(t *testing.T) { checkSDKUsers(t, r, email) })
	t.Run("rules", func(t *testing.T) { checkSDKRules(t, r) })
	t.Run("rulesConfigs", func(t *testing.T) { checkSDKRulesConfigs(t, r) })
	t.Run("connections", func(t *testing.T) { checkSDKConnections(t, r) })
	t.Run("jobs", func(t *testing.T) { checkSDKJobs(t, r, l, email) })

	// A wrong secret: the SDK's token request fails with Auth0's OAuth error, as ManagementError.
	s := r.step(t, "token.bad_secret", nil)
	if !s.Threw || s.Error == nil || !s.Error.ManagementError || s.Error.StatusCode != http.StatusUnauthorized ||
		s.Error.Body["error"] != "access_denied" {
		t.Errorf("token request with a wrong secret: %+v %s, want a ManagementError 401 access_denied", s.Error, s.Value)
	}

	t.Run("state", func(t *testing.T) { checkSDKState(t, l, certFile, r, email) })
}

func checkSDKUsers(t *testing.T, r sdkReport, email func(string) string) {
	var created struct {
		Status      int     `json:"status"`
		ContentType string  `json:"content_type"`
		User        sdkUser `json:"user"`
	}
	r.step(t, "users.create", &created)
	ada := created.User
	if created.Status != http.StatusCreated || !strings.HasPrefix(created.ContentType, "application/json") {
		t.Errorf("create: status %d content type %q, want 201 application/json", created.Status, created.ContentType)
	}
	if !strings.HasPrefix(ada.UserID, "auth0|") || ada.Email != email("ada") {
		t.Errorf("created user %q %q", ada.UserID, ada.Email)
	}
	wantJSONEqual(t, "created user_metadata", ada.UserMetadata, `{"plan":"silver","theme":{"color":"blue","size":10},"lang":"en"}`)
	wantJSONEqual(t, "created app_metadata", ada.AppMetadata, `{"roles":["admin"],"tier":2}`)

	var got sdkUser
	r.step(t, "users.get", &got)
	if got.UserID != ada.UserID || got.Email != ada.Email {
		t.Errorf("get: %+v, want %s", got, ada.UserID)
	}
	wantJSONEqual(t, "read user_metadata", got.UserMetadata, `{"plan":"silver","theme":{"color":"blue","size":10},"lang":"en"}`)

	// First-level merge: theme is replaced whole, plan stays, tier changes, roles stay.
	var merged sdkUser
	r.step(t, "users.update.merge", &merged)
	wantJSONEqual(t, "merged user_metadata", merged.UserMetadata, `{"plan":"silver","theme":{"size":12},"lang":"fr"}`)
	wantJSONEqual(t, "merged app_metadata", merged.AppMetadata, `{"roles":["admin"],"tier":3}`)
	var nulled sdkUser
	r.step(t, "users.update.null_key", &nulled)
	wantJSONEqual(t, "user_metadata after plan:null", nulled.UserMetadata, `{"theme":{"size":12},"lang":"fr"}`)

	var fields map[string]any
	r.step(t, "users.get.fields", &fields)
	wantJSONEqual(t, "get with fields=user_id,email", fields, `{"user_id":"`+ada.UserID+`","email":"`+ada.Email+`"}`)

	var emptied sdkUser
	r.step(t, "users.update.empty_metadata", &emptied)
	wantJSONEqual(t, "user_metadata after {}", emptied.UserMetadata, `{}`)
	wantJSONEqual(t, "app_metadata after user_metadata {}", emptied.AppMetadata, `{"keep":true}`)

	// include_totals: the SDK reads the envelope and pages with page/per_page.
	var totals struct{ First, Next sdkPage[sdkUser] }
	r.step(t, "users.list.totals", &totals)
	first := envelopeOf[any](t, "users page 0", totals.First.Response)
	wantPaging(t, "users page 0", first, 0, 1, 2)
	if first.Length == nil || *first.Length != 1 || len(first.Users) != 1 {
		t.Errorf("users page 0: length %v, %d users, want 1", deref(first.Length), len(first.Users))
	}
	if len(totals.First.Data) != 1 || totals.First.Data[0].Email != email("ada") || !totals.First.HasNextPage {
		t.Errorf("users page 0 as the SDK sees it: %+v next %v, want [ada] and a next page", totals.First.Data, totals.First.HasNextPage)
	}
	second := envelopeOf[any](t, "users page 1", totals.Next.Response)
	wantPaging(t, "users page 1", second, 1, 1, 2)
	if len(totals.Next.Data) != 1 || totals.Next.Data[0].Email != email("bob") {
		t.Errorf("users page 1 as the SDK sees it: %+v, want [bob]", totals.Next.Data)
	}
	var iterated []string
	r.step(t, "users.list.iterate", &iterated)
	if want := []string{email("ada"), email("bob")}; !slices.Equal(iterated, want) {
		t.Errorf("iterating users: %v, want %v", iterated, want)
	}

	// include_totals=false is Auth0's bare array; the SDK's Page finds items only in the
	// envelope, so an application reads page.response there. Both as with Auth0.
	var bare sdkPage[sdkUser]
	r.step(t, "users.list.no_totals", &bare)
	var arr []sdkUser
	if err := json.Unmarshal(bare.Response, &arr); err != nil || len(arr) != 2 {
		t.Errorf("include_totals=false: response %s, want a bare array of 2 users", bare.Response)
	}
	if len(bare.Data) != 0 {
		t.Errorf("include_totals=false: the SDK found %d items; it reads only the envelope", len(bare.Data))
	}

	var q sdkPage[sdkUser]
	r.step(t, "users.list.q", &q)
	if env := envelopeOf[any](t, "q", q.Response); env.Total == nil || *env.Total != 1 {
		t.Errorf("q total: %s", q.Response)
	}
	if len(q.Data) != 1 || q.Data[0].UserID != ada.UserID {
		t.Errorf(`q=user_metadata.lang:"fr": %+v, want only %s`, q.Data, ada.UserID)
	}
	var badQ struct {
		Threw bool      `json:"threw"`
		Error *sdkError `json:"error"`
	}
	r.step(t, "users.list.bad_q", &badQ)
	if !badQ.Threw || badQ.Error == nil || badQ.Error.Class != "BadRequestError" || badQ.Error.Body["errorCode"] != "invalid_query_string" {
		t.Errorf("an invalid q: %+v, want BadRequestError invalid_query_string", badQ.Error)
	}

	var byEmail []sdkUser
	r.step(t, "users.listUsersByEmail", &byEmail)
	if len(byEmail) != 1 || byEmail[0].UserID != ada.UserID {
		t.Errorf("users-by-email: %+v, want [%s]", byEmail, ada.UserID)
	}

	r.sdkFailure(t, "users.get.404", "NotFoundError", http.StatusNotFound, "inexistent_user", "The user does not exist.")
	r.sdkFailure(t, "users.create.409", "ConflictError", http.StatusConflict, "auth0_idp_error", "The user already exists.")
	r.sdkFailure(t, "users.update.400", "BadRequestError", http.StatusBadRequest, "invalid_body", "")

	var del struct {
		Status int `json:"status"`
		Data   any `json:"data"`
	}
	r.step(t, "users.delete", &del)
	if del.Status != http.StatusNoContent || del.Data != nil {
		t.Errorf("delete: %d %v, want 204 and nothing", del.Status, del.Data)
	}
	r.sdkFailure(t, "users.get.after_delete", "NotFoundError", http.StatusNotFound, "inexistent_user", "The user does not exist.")
}

func checkSDKRules(t *testing.T, r sdkReport) {
	names := map[string]string{}
	var alpha sdkRule
	for i, n := range []string{"alpha", "beta", "gamma"} {
		var rule sdkRule
		r.step(t, "rules.create."+n, &rule)
		names[n] = rule.Name
		if !strings.HasPrefix(rule.ID, "rul_") || !rule.Enabled || rule.Order != i+1 || rule.Stage != "login_success" {
			t.Errorf("created rule %s: %+v, want enabled, order %d, stage login_success", n, rule, i+1)
		}
		if n == "alpha" {
			alpha = rule
		}
	}

	var paged struct{ First, Next sdkPage[sdkRule] }
	r.step(t, "rules.list.paged", &paged)
	wantPaging(t, "rules page 0", envelopeOf[any](t, "rules page 0", paged.First.Response), 0, 2, 3)
	wantPaging(t, "rules page 1", envelopeOf[any](t, "rules page 1", paged.Next.Response), 2, 2, 3)
	var pagedNames []string
	for _, p := range []sdkPage[sdkRule]{paged.First, paged.Next} {
		for _, rule := range p.Data {
			pagedNames = append(pagedNames, rule.Name)
		}
	}
	if want := []string{names["alpha"], names["beta"], names["gamma"]}; !slices.Equal(pagedNames, want) {
		t.Errorf("rules over two pages of 2: %v, want %v", pagedNames, want)
	}
	var iterated []string
	r.step(t, "rules.list.iterate", &iterated)
	if want := []string{names["alpha"], names["beta"], names["gamma"]}; !slices.Equal(iterated, want) {
		t.Errorf("iterating rules: %v, want %v", iterated, want)
	}

	for _, step := range []string{"rules.update", "rules.get"} {
		var rule sdkRule
		r.step(t, step, &rule)
		if rule.ID != alpha.ID || rule.Enabled || rule.Order != 10 || !strings.Contains(rule.Script, "alpha2") || rule.Name != alpha.Name {
			t.Errorf("%s: %+v, want %s disabled, order 10, the new script", step, rule, alpha.ID)
		}
	}
	r.sdkFailure(t, "rules.update.409", "ConflictError", http.StatusConflict, "conflict", "")
	r.sdkFailure(t, "rules.create.409", "ConflictError", http.StatusConflict, "conflict", "")
	r.sdkFailure(t, "rules.get.404", "NotFoundError", http.StatusNotFound, "inexistent_rule", "The rule does not exist.")

	var del struct {
		Status int `json:"status"`
	}
	r.step(t, "rules.delete", &del)
	if del.Status != http.StatusNoContent {
		t.Errorf("delete rule: %d, want 204", del.Status)
	}
	var after sdkPage[sdkRule]
	r.step(t, "rules.list.after_delete", &after)
	var left []string
	for _, rule := range after.Data {
		left = append(left, rule.Name)
	}
	if want := []string{names["gamma"], names["alpha"]}; !slices.Equal(left, want) {
		t.Errorf("rules after deleting beta, by order: %v, want %v", left, want)
	}
}

func checkSDKRulesConfigs(t *testing.T, r sdkReport) {
	var set, replaced map[string]any
	r.step(t, "rulesConfigs.set", &set)
	wantJSONEqual(t, "set", set, `{"key":"SLACK_HOOK_URL","value":"https://hooks.example.com/x"}`)
	r.step(t, "rulesConfigs.set.replace", &replaced)
	wantJSONEqual(t, "set again", replaced, `{"key":"SLACK_HOOK_URL","value":"https://hooks.example.com/y"}`)
	var list []map[string]any
	r.step(t, "rulesConfigs.list", &list)
	wantJSONEqual(t, "list (keys, never values)", list, `[{"key":"API_KEY"},{"key":"SLACK_HOOK_URL"}]`)
	var del struct {
		Status int `json:"status"`
	}
	r.step(t, "rulesConfigs.delete", &del)
	if del.Status != http.StatusNoContent {
		t.Errorf("delete: %d, want 204", del.Status)
	}
	r.step(t, "rulesConfigs.list.after_delete", &list)
	wantJSONEqual(t, "list after delete", list, `[{"key":"API_KEY"}]`)
}

func checkSDKConnections(t *testing.T, r sdkReport) {
	var byName []struct{ ID, Name, Strategy string }
	r.step(t, "connections.list", &byName)
	if len(byName) != 1 || byName[0].Name != "Username-Password-Authentication" || byName[0].Strategy != "auth0" {
		t.Errorf("connections named Username-Password-Authentication: %+v", byName)
	}
	// The SDK pages connections by checkpoint (from/take, next) only.
	var take1 struct {
		First sdkPage[struct{ ID, Name string }]
		Names []string
	}
	r.step(t, "connections.list.take1", &take1)
	var first struct {
		Next        *string           `json:"next"`
		Connections []json.RawMessage `json:"connections"`
	}
	if err := json.Unmarshal(take1.First.Response, &first); err != nil || len(first.Connections) != 1 || first.Next == nil || *first.Next == "" {
		t.Errorf("connections take=1: %s, want one connection and next", take1.First.Response)
	}
	if len(take1.First.Data) != 1 || take1.First.Data[0].ID != extraConnections[0].ID || !take1.First.HasNextPage {
		t.Errorf("first checkpoint page as the SDK sees it: %+v next %v, want %s and more", take1.First.Data, take1.First.HasNextPage, extraConnections[0].ID)
	}
	got := slices.Clone(take1.Names)
	sort.Strings(got)
	if want := []string{"Username-Password-Authentication", "node-sdk-first", "node-sdk-last"}; !slices.Equal(got, want) {
		t.Errorf("paging connections one at a time: %v, want each of %v once", take1.Names, want)
	}
}

func checkSDKJobs(t *testing.T, r sdkReport, l *tlsLatch, email func(string) string) {
	var conns []struct{ ID string }
	r.step(t, "connections.list", &conns)
	if len(conns) != 1 {
		t.Fatalf("no connection id for the jobs: %+v", conns)
	}
	connID := conns[0].ID

	var imp struct {
		Status int    `json:"status"`
		Job    sdkJob `json:"job"`
	}
	r.step(t, "jobs.usersImports.create", &imp)
	if imp.Status/100 != 2 || imp.Job.Type != "users_import" || !strings.HasPrefix(imp.Job.ID, "job_") ||
		imp.Job.ConnectionID != connID || imp.Job.ExternalID != "ext-"+r.RunID {
		t.Errorf("import job: %d %+v", imp.Status, imp.Job)
	}
	var done sdkJob
	r.step(t, "jobs.get.import", &done)
	if done.ID != imp.Job.ID || done.Status != "completed" || done.Summary == nil ||
		done.Summary.Inserted != 2 || done.Summary.Failed != 1 || done.Summary.Total != 3 || done.Summary.Updated != 0 {
		t.Errorf("finished import: %+v (summary %+v), want completed 2 inserted, 1 failed of 3", done, done.Summary)
	}
	var errs []struct {
		User   map[string]any `json:"user"`
		Errors []struct{ Code string }
	}
	r.step(t, "jobs.errors.get", &errs)
	if len(errs) != 1 || errs[0].User["email"] != "not-an-email" || len(errs[0].Errors) == 0 {
		t.Errorf("import errors: %+v, want the one bad email", errs)
	}

	var exp sdkJob
	r.step(t, "jobs.usersExports.create", &exp)
	if exp.Type != "users_export" || exp.ConnectionID != connID {
		t.Errorf("export job: %+v", exp)
	}
	var exported sdkJob
	r.step(t, "jobs.get.export", &exported)
	if exported.Status != "completed" || !strings.HasPrefix(exported.Location, "https://"+l.Addr+"/") {
		t.Errorf("finished export: %+v, want completed with a location on https://%s/", exported, l.Addr)
	}
	var rows []map[string]any
	r.step(t, "jobs.export.file", &rows)
	byEmail := map[string]map[string]any{}
	for _, row := range rows {
		e, _ := row["email"].(string)
		byEmail[e] = row
	}
	if len(rows) != 3 || byEmail[email("bob")] == nil || byEmail[email("imp2")] == nil {
		t.Errorf("exported rows %v, want bob, imp1 and imp2 (ada was deleted)", rows)
	}
	wantJSONEqual(t, "exported imp1", byEmail[email("imp1")], `{"email":"`+email("imp1")+`","source":"import"}`)

	r.sdkFailure(t, "jobs.get.404", "NotFoundError", http.StatusNotFound, "inexistent_job", "The job does not exist.")
}

// checkSDKState reads back, with latch's own API, what the SDK changed.
func checkSDKState(t *testing.T, l *tlsLatch, certFile string, r sdkReport, email func(string) string) {
	pemData, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemData)
	c := httpsClient(roots)
	defer c.CloseIdleConnections()
	base := "https://" + l.Addr
	call := func(method, path, token string, form url.Values) []byte {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		return data
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, call(http.MethodPost, "/oauth/token", "", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {l.Config.BootstrapClientID},
		"client_secret": {l.Config.BootstrapClientSecret}, "audience": {base + "/api/v2/"},
	}), &tok)

	var users []sdkUser
	mustJSON(t, call(http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(email("imp1")), tok.AccessToken, nil), &users)
	if len(users) != 1 {
		t.Fatalf("imported user %s: %+v", email("imp1"), users)
	}
	wantJSONEqual(t, "imported app_metadata", users[0].AppMetadata, `{"plan":"gold"}`)
	wantJSONEqual(t, "imported user_metadata", users[0].UserMetadata, `{"source":"import"}`)
	mustJSON(t, call(http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(email("ada")), tok.AccessToken, nil), &users)
	if len(users) != 0 {
		t.Errorf("deleted user still there: %+v", users)
	}
	var rules []sdkRule
	mustJSON(t, call(http.MethodGet, "/api/v2/rules", tok.AccessToken, nil), &rules)
	if len(rules) != 2 {
		t.Errorf("rules left: %+v, want 2", rules)
	}
	for _, rule := range rules {
		if rule.Name == "node-alpha-"+r.RunID && (rule.Enabled || rule.Order != 10) {
			t.Errorf("alpha as stored: %+v, want disabled at order 10", rule)
		}
	}
}

// TestNodeSDKConnectionsCheckpointPaging pins the paging the SDK revealed: GET /connections
// with from/take answers Auth0's checkpoint page ({connections, next}), ordered by id, and
// ignores include_totals (which the SDK always sends); page/per_page paging is unchanged.
func TestNodeSDKConnectionsCheckpointPaging(t *testing.T) {
	l := startLatch(t)
	l.Stop()
	addConnections(t, l.DataDir, extraConnections...)
	l.Restart()
	tok := l.ManagementToken(t, "")

	type page struct {
		Connections []struct{ ID, Name string }
		Next        *string
		Total       *int
	}
	var ids []string
	from := ""
	for i := 0; ; i++ {
		if i > 5 {
			t.Fatalf("more pages than connections: %v", ids)
		}
		path := "/api/v2/connections?include_totals=true&take=1"
		if from != "" {
			path += "&from=" + url.QueryEscape(from)
		}
		var p page
		mustJSON(t, mgmtGetRaw(t, l, path, tok), &p)
		if len(p.Connections) != 1 || p.Total != nil {
			t.Fatalf("%s: %+v, want one connection and no total", path, p)
		}
		ids = append(ids, p.Connections[0].ID)
		if p.Next == nil {
			break
		}
		if *p.Next == "" || *p.Next == from {
			t.Fatalf("%s: next %q", path, *p.Next)
		}
		from = *p.Next
	}
	if len(ids) != 3 || ids[0] != extraConnections[0].ID || ids[2] != extraConnections[1].ID || !slices.IsSorted(ids) {
		t.Errorf("connections paged one at a time: %v, want 3 in id order", ids)
	}

	// take larger than the list: one page, no next.
	var all page
	mustJSON(t, mgmtGetRaw(t, l, "/api/v2/connections?take=50&fields=name", tok), &all)
	if len(all.Connections) != 3 || all.Next != nil || all.Connections[0].Name != "node-sdk-first" || all.Connections[0].ID != "" {
		t.Errorf("take=50&fields=name: %+v", all)
	}
	// Offset paging is as before.
	env := mgmtList(t, l, "/api/v2/connections?include_totals=true&page=0&per_page=2", tok)
	if env["total"] != json.Number("3") || len(env["connections"].([]any)) != 2 || env["next"] != nil {
		t.Errorf("offset paging: %v", env)
	}
	for _, bad := range []string{"take=0", "take=101", "take=many"} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/connections?"+bad, tok, nil)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "take")
	}
}
