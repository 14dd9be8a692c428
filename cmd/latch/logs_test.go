package main

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logEntry is an event as GET /api/v2/logs answers it.
type logEntry struct {
	LogID       string         `json:"log_id"`
	Date        string         `json:"date"`
	Type        string         `json:"type"`
	Description string         `json:"description"`
	ClientID    string         `json:"client_id"`
	ClientName  string         `json:"client_name"`
	Connection  string         `json:"connection"`
	IP          string         `json:"ip"`
	UserAgent   string         `json:"user_agent"`
	UserID      string         `json:"user_id"`
	UserName    string         `json:"user_name"`
	Details     map[string]any `json:"details"`
}

var (
	logIDPattern   = regexp.MustCompile(`^900\d{53}$`)
	logDatePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// getLogs lists events with the query; it fails the test on anything but a 200.
func getLogs(t *testing.T, l *testLatch, token, path string, query url.Values) []logEntry {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, path+"?"+query.Encode(), token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?%s: %d %s", path, query.Encode(), resp.StatusCode, body)
	}
	var out []logEntry
	mustJSON(t, body, &out)
	return out
}

// waitForLogs polls the log until it holds every wanted type (events are written by a
// background writer, a fraction of a second after they happen); the wait is bounded.
func waitForLogs(t *testing.T, l *testLatch, token string, want ...string) []logEntry {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		logs := getLogs(t, l, token, "/api/v2/logs", url.Values{"per_page": {"100"}})
		missing := []string{}
		for _, w := range want {
			if !slices.ContainsFunc(logs, func(e logEntry) bool { return e.Type == w }) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log lacks %v after 15s: %+v", missing, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func findLog(t *testing.T, logs []logEntry, typ string) logEntry {
	t.Helper()
	for _, e := range logs {
		if e.Type == typ {
			return e
		}
	}
	t.Fatalf("no %s event in %+v", typ, logs)
	return logEntry{}
}

func logTypes(logs []logEntry) []string {
	out := make([]string, len(logs))
	for i, e := range logs {
		out[i] = e.Type
	}
	return out
}

func wantQueryError(t *testing.T, l *testLatch, token, q, position string) {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, "/api/v2/logs?"+url.Values{"q": {q}}.Encode(), token, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"errorCode":"invalid_query_string"`) ||
		!strings.Contains(string(body), "position "+position) {
		t.Errorf("q=%s: %d %s, want 400 invalid_query_string at position %s", q, resp.StatusCode, body, position)
	}
}

// TestAuthEventLog: signups, logins (good, wrong password, unknown user, with a rule that
// prints), token exchanges and Management API writes leave events, which the Management
// API lists, filters, pages and finds by id, per user too.
func TestAuthEventLog(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	createRule(t, l, mgmt, "say-hello", `function (user, context, callback) {
  console.log('hello from a rule: ' + user.email);
  callback(null, user, context);
}`)
	created := signup(t, l, clientID, "ada@example.com", "Correct-Horse-9", nil)
	userID := "auth0|" + created["_id"].(string)
	for _, try := range []struct{ user, pw string }{{"ada@example.com", "wrong-password"}, {"nobody@example.com", "whatever"}} {
		resp, body := l.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {clientID}, "client_secret": {secret}, "username": {try.user}, "password": {try.pw},
		})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Wrong email or password.") {
			t.Fatalf("login as %s: %d %s, want the usual 403", try.user, resp.StatusCode, body)
		}
	}
	realmLogin(t, l, clientID, secret, "ada@example.com", "Correct-Horse-9")

	logs := waitForLogs(t, l, mgmt, "seccft", "sapi", "ss", "fp", "fu", "s")
	for _, e := range logs {
		if !logIDPattern.MatchString(e.LogID) || !logDatePattern.MatchString(e.Date) {
			t.Errorf("event %s: log_id %q, date %q", e.Type, e.LogID, e.Date)
		}
		if e.IP != "127.0.0.1" || e.UserAgent != "Go-http-client/1.1" {
			t.Errorf("event %s: ip %q, user_agent %q", e.Type, e.IP, e.UserAgent)
		}
	}
	if got := logTypes(logs); !slices.Equal(got[:4], []string{"s", "fu", "fp", "ss"}) {
		t.Errorf("newest first: %v", got)
	}
	ss := findLog(t, logs, "ss")
	if ss.UserID != userID || ss.UserName != "ada@example.com" || ss.ClientID != clientID || ss.ClientName != "e2e app" ||
		ss.Connection != "Username-Password-Authentication" {
		t.Errorf("ss = %+v", ss)
	}
	fp := findLog(t, logs, "fp")
	if fp.UserID != userID || fp.UserName != "ada@example.com" || fp.Description != "Wrong email or password." {
		t.Errorf("fp = %+v", fp)
	}
	fu := findLog(t, logs, "fu")
	if fu.UserID != "" || fu.UserName != "nobody@example.com" || fu.ClientID != clientID {
		t.Errorf("fu = %+v", fu)
	}
	s := findLog(t, logs, "s")
	rules, _ := s.Details["rules"].(map[string]any)
	console, _ := rules["console"].([]any)
	scripts, _ := rules["scripts"].([]any)
	if s.UserID != userID || rules["outcome"] != "ok" || len(console) != 1 ||
		!strings.Contains(console[0].(string), "hello from a rule: ada@example.com") ||
		len(scripts) != 1 || scripts[0].(map[string]any)["name"] != "say-hello" {
		t.Errorf("s = %+v", s)
	}
	sapi := findLog(t, logs, "sapi")
	req, _ := sapi.Details["request"].(map[string]any)
	if sapi.Description != "Create a rule" || sapi.ClientID != l.ClientID || req["path"] != "/api/v2/rules" || req["method"] != "post" {
		t.Errorf("the newest sapi = %+v", sapi)
	}
	if cc := findLog(t, logs, "seccft"); cc.ClientID != l.ClientID || cc.UserID != "" {
		t.Errorf("seccft = %+v", cc)
	}

	t.Run("filters", func(t *testing.T) {
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"type:fp", []string{"fp"}},
			{`type:"fp"`, []string{"fp"}},
			{"type:(fp OR fu)", []string{"fu", "fp"}},
			{"type:f*", []string{"fu", "fp"}},
			{"type:zz*", []string{}},
			{`user_id:"` + userID + `"`, []string{"s", "fp", "ss"}},
			{`type:s AND user_id:"` + userID + `"`, []string{"s"}},
			{"client_id:" + clientID + " AND type:(s OR ss)", []string{"s", "ss"}},
			{"date:[* TO 2001-01-01] AND type:s", []string{}},
			{"date:[2001-01-01 TO *] AND type:s", []string{"s"}},
			{"date:[" + ss.Date + " TO " + ss.Date + "] AND type:ss", []string{"ss"}},
			{"date:{" + ss.Date + " TO *] AND type:ss", []string{}},
		} {
			got := logTypes(getLogs(t, l, mgmt, "/api/v2/logs", url.Values{"q": {c.q}}))
			if !slices.Equal(got, c.want) {
				t.Errorf("q=%s: %v, want %v", c.q, got, c.want)
			}
		}
		// The Node SDK's newer versions send the query as search.
		if got := logTypes(getLogs(t, l, mgmt, "/api/v2/logs", url.Values{"search": {"type:fu"}})); !slices.Equal(got, []string{"fu"}) {
			t.Errorf("search=type:fu: %v", got)
		}
		wantQueryError(t, l, mgmt, "type:fp OR type:fu", "8")
		wantQueryError(t, l, mgmt, "type:fp user_id:x", "8")
		wantQueryError(t, l, mgmt, "ip:127.0.0.1", "0")
		wantQueryError(t, l, mgmt, "fp", "2")
		wantQueryError(t, l, mgmt, "date:[yesterday TO *]", "6")
		wantQueryError(t, l, mgmt, `user_id:"unterminated`, "8")
	})

	t.Run("paging", func(t *testing.T) {
		all := getLogs(t, l, mgmt, "/api/v2/logs", url.Values{"sort": {"date:1"}, "per_page": {"100"}})
		if len(all) < 6 || all[0].Type != "seccft" {
			t.Fatalf("oldest first: %v", logTypes(all))
		}
		var seen []string
		for page := 0; ; page++ {
			resp, body := l.Do(t, http.MethodGet, "/api/v2/logs?"+url.Values{
				"sort": {"date:1"}, "per_page": {"2"}, "page": {strconv.Itoa(page)}, "include_totals": {"true"},
			}.Encode(), mgmt, nil)
			var env struct {
				Start, Limit, Length, Total int
				Logs                        []logEntry
			}
			mustJSON(t, body, &env)
			if resp.StatusCode != http.StatusOK || env.Start != 2*page || env.Limit != 2 || env.Length != len(env.Logs) || env.Total < len(all) {
				t.Fatalf("page %d: %d %s", page, resp.StatusCode, body)
			}
			if len(env.Logs) == 0 {
				break
			}
			for _, e := range env.Logs {
				seen = append(seen, e.LogID)
			}
		}
		if len(seen) < len(all) || !slices.Equal(seen[:len(all)], logIDs(all)) {
			t.Errorf("pages = %v, want %v first", seen, logIDs(all))
		}
		resp, body := l.Do(t, http.MethodGet, "/api/v2/logs?per_page=101", mgmt, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("per_page=101: %d %s", resp.StatusCode, body)
		}
		resp, body = l.Do(t, http.MethodGet, "/api/v2/logs?fields=type,log_id&per_page=1", mgmt, nil)
		var only []map[string]any
		mustJSON(t, body, &only)
		if resp.StatusCode != http.StatusOK || len(only) != 1 || len(only[0]) != 2 || only[0]["type"] == nil || only[0]["log_id"] == nil {
			t.Errorf("fields=type,log_id: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("checkpoint", func(t *testing.T) {
		all := getLogs(t, l, mgmt, "/api/v2/logs", url.Values{"per_page": {"100"}})
		want := logIDs(all)
		slices.Sort(want)
		var got []string
		next := "/api/v2/logs?take=3"
		for range 100 {
			resp, body := l.Do(t, http.MethodGet, next, mgmt, nil)
			var page []logEntry
			mustJSON(t, body, &page)
			if resp.StatusCode != http.StatusOK || len(page) > 3 {
				t.Fatalf("%s: %d %s", next, resp.StatusCode, body)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, logIDs(page)...)
			link := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(resp.Header.Get("Link"))
			if link == nil {
				t.Fatalf("Link header %q", resp.Header.Get("Link"))
			}
			u, err := url.Parse(link[1])
			if err != nil || !strings.HasPrefix(link[1], l.Issuer+"api/v2/logs?") {
				t.Fatalf("next link %q", link[1])
			}
			next = u.RequestURI()
		}
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("checkpoint pages = %v, want %v first", got, want)
		}
	})

	t.Run("by id", func(t *testing.T) {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/logs/"+fp.LogID, mgmt, nil)
		var one logEntry
		mustJSON(t, body, &one)
		if resp.StatusCode != http.StatusOK || one.LogID != fp.LogID || one.Type != "fp" || one.UserID != userID {
			t.Errorf("GET /logs/{fp}: %d %s", resp.StatusCode, body)
		}
		resp, body = l.Do(t, http.MethodGet, "/api/v2/logs/90020200101000000000000000000000000000000000000000000000", mgmt, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"errorCode":"inexistent_log"`) {
			t.Errorf("GET /logs/{unknown}: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("per user", func(t *testing.T) {
		path := "/api/v2/users/" + url.PathEscape(userID) + "/logs"
		got := getLogs(t, l, mgmt, path, url.Values{})
		if !slices.Equal(logTypes(got), []string{"s", "fp", "ss"}) {
			t.Errorf("user's logs: %v", logTypes(got))
		}
		usersOnly := l.ManagementToken(t, "read:logs_users")
		if got := getLogs(t, l, usersOnly, path, url.Values{"sort": {"date:1"}, "per_page": {"1"}}); len(got) != 1 || got[0].Type != "ss" {
			t.Errorf("user's first log with read:logs_users: %+v", got)
		}
		resp, body := l.Do(t, http.MethodGet, "/api/v2/logs", usersOnly, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"errorCode":"insufficient_scope"`) {
			t.Errorf("GET /logs with read:logs_users only: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("scopes", func(t *testing.T) {
		wrong := l.ManagementToken(t, "read:users")
		for _, path := range []string{"/api/v2/logs", "/api/v2/logs/" + fp.LogID, "/api/v2/users/" + url.PathEscape(userID) + "/logs"} {
			resp, body := l.Do(t, http.MethodGet, path, wrong, nil)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Insufficient scope, expected any of: read:logs") {
				t.Errorf("GET %s with read:users: %d %s", path, resp.StatusCode, body)
			}
		}
		resp, _ := l.Do(t, http.MethodGet, "/api/v2/logs", "", nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /logs without a token: %d", resp.StatusCode)
		}
	})
}

// TestAuthEventLogBrowser: the browser flow's events: a hosted-page login (s), the code
// exchange (seacft) and a replayed code (feacft), a refresh (sertft) and an unknown refresh
// token (fertft), silent authentication (ssa, and fsa without a session) and the logout (slo).
func TestAuthEventLogBrowser(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	created := signup(t, l, clientID, "grace@example.com", "Correct-Horse-9", nil)
	userID := "auth0|" + created["_id"].(string)
	ua := newUserAgent(t, l)
	verifier, challenge := pkce()
	back := ua.login(t, authorizeParams(clientID, challenge), "grace@example.com", "Correct-Horse-9")
	exchange := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {back.Query().Get("code")},
		"redirect_uri": {spaCallback}, "code_verifier": {verifier},
	}
	resp, body := l.PostForm(t, "/oauth/token", exchange)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %s", resp.StatusCode, body)
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	mustJSON(t, body, &tr)
	if resp, body = l.PostForm(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tr.RefreshToken}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	if resp, body = l.PostForm(t, "/oauth/token", exchange); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replayed code: %d %s", resp.StatusCode, body)
	}
	if resp, body = l.PostForm(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {"nope"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unknown refresh token: %d %s", resp.StatusCode, body)
	}
	silent := authorizeParams(clientID, challenge)
	silent.Set("prompt", "none")
	if resp, body := ua.authorize(t, silent); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("silent auth: %d %s", resp.StatusCode, body)
	}
	if resp, _ := newUserAgent(t, l).authorize(t, silent); !strings.Contains(resp.Header.Get("Location"), "error=login_required") {
		t.Fatalf("silent auth without a session: %v", resp.Header.Get("Location"))
	}
	if resp, body := ua.get(t, "/v2/logout?"+url.Values{"client_id": {clientID}, "returnTo": {"http://127.0.0.1:3000/bye"}}.Encode()); resp.StatusCode != http.StatusFound {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}

	logs := waitForLogs(t, l, mgmt, "s", "seacft", "sertft", "feacft", "fertft", "ssa", "fsa", "slo")
	for _, typ := range []string{"s", "seacft", "sertft", "ssa", "slo"} {
		if e := findLog(t, logs, typ); e.UserID != userID || e.UserName != "grace@example.com" {
			t.Errorf("%s = %+v, want grace's", typ, e)
		}
	}
	for _, typ := range []string{"s", "seacft", "sertft", "feacft", "fertft", "ssa", "fsa"} {
		if e := findLog(t, logs, typ); e.ClientID != clientID || e.ClientName != "test spa" {
			t.Errorf("%s = %+v, want the spa's", typ, e)
		}
	}
	if e := findLog(t, logs, "feacft"); e.Description != "Invalid authorization code" {
		t.Errorf("feacft = %+v", e)
	}
	if e := findLog(t, logs, "fsa"); e.Description != "Login required" || e.UserID != "" {
		t.Errorf("fsa = %+v", e)
	}
}

func logIDs(logs []logEntry) []string {
	out := make([]string, len(logs))
	for i, e := range logs {
		out[i] = e.LogID
	}
	return out
}

// TestAuthEventLogAttackProtection: brute-force blocks (limit_wc) and suspicious-IP
// throttling of signups (limit_mu) leave events; a confidential client's
// auth0-forwarded-for is the address its user's events carry.
func TestAuthEventLogAttackProtection(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "target@example.com", "Correct-Horse-9", nil)
	login := func(pw, forwardedFor string) int {
		form := url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {clientID}, "client_secret": {secret}, "username": {"target@example.com"}, "password": {pw},
		}
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if forwardedFor != "" {
			req.Header.Set("Auth0-Forwarded-For", forwardedFor)
		}
		resp, _ := send(t, req)
		return resp.StatusCode
	}
	for range 10 {
		login("wrong", "")
	}
	if code := login("Correct-Horse-9", ""); code != http.StatusTooManyRequests {
		t.Fatalf("the 11th login: %d, want 429", code)
	}
	if code := login("Correct-Horse-9", "203.0.113.7"); code != http.StatusOK {
		t.Fatalf("login from the backend's end user: %d", code)
	}
	throttled := false
	for i := 0; i < 60 && !throttled; i++ {
		resp, _ := l.Do(t, http.MethodPost, "/dbconnections/signup", "", map[string]any{
			"client_id": clientID, "connection": "Username-Password-Authentication",
			"email": "u" + strconv.Itoa(i) + "@example.com", "password": "Correct-Horse-9",
		})
		throttled = resp.StatusCode == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatal("signups were never throttled")
	}

	logs := waitForLogs(t, l, mgmt, "limit_wc", "limit_mu", "s")
	if n := len(getLogs(t, l, mgmt, "/api/v2/logs", url.Values{"q": {"type:fp"}})); n != 10 {
		t.Errorf("%d fp events, want 10", n)
	}
	if e := findLog(t, logs, "limit_wc"); e.UserName != "target@example.com" || e.IP != "127.0.0.1" || e.ClientID != clientID {
		t.Errorf("limit_wc = %+v", e)
	}
	if e := findLog(t, logs, "s"); e.IP != "203.0.113.7" || e.UserName != "target@example.com" {
		t.Errorf("s = %+v, want the end user's address", e)
	}
	if e := findLog(t, logs, "limit_mu"); e.IP != "127.0.0.1" || !strings.HasSuffix(e.UserName, "@example.com") {
		t.Errorf("limit_mu = %+v", e)
	}
}
