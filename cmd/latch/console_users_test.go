package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/browsertest"
)

// The admin console's users, logs, signing-keys and clients screens, in real Chromium against
// a real latch: what the admin does in the page is checked through the Management API, and
// what the API holds is checked in the page.

// consoleGoTo opens a screen of the signed-in console through its nav, as an admin would.
func consoleGoTo(t *testing.T, b *browsertest.Browser, path string) {
	t.Helper()
	if !b.Exists(fmt.Sprintf(`a[data-nav=%q]`, path)) || !b.Exists(`#nav a`) {
		t.Fatalf("the console nav has no link to %s", path)
	}
	b.Eval(fmt.Sprintf(`document.querySelector('a[data-nav=%q]').click()`, path), nil)
	b.WaitFor(fmt.Sprintf(`location.hash.split('?')[0] === '#%s'`, path))
}

// consoleSetValue sets a select's or a date input's value as a person choosing it would
// (the change event included).
func consoleSetValue(b *browsertest.Browser, sel, value string) {
	b.Eval(fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		el.value = %q;
		if (el.value !== %q) throw new Error('no such option: ' + %q);
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, sel, value, value, value), nil)
}

// consoleConfirm accepts the open confirmation dialog and waits for it to close.
func consoleConfirm(b *browsertest.Browser) {
	b.WaitVisible(`dialog[open] [data-testid="confirm-ok"]`)
	b.Click(`dialog[open] [data-testid="confirm-ok"]`)
	b.WaitNotPresent(`dialog[open]`)
}

// consoleDismissToasts closes the notices on screen: on a phone they cover the bottom of
// the page.
func consoleDismissToasts(b *browsertest.Browser) {
	b.Eval(`document.querySelectorAll('.toast-close').forEach((x) => x.click())`, nil)
	b.WaitNotPresent(".toast")
}

// mgmtUser reads a user through the Management API.
func mgmtUser(t *testing.T, l *testLatch, mgmt, id string) map[string]any {
	t.Helper()
	return mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+url.PathEscape(id), mgmt, nil, http.StatusOK)
}

// loginStatus tries a password-realm login and returns the status and the OAuth error.
func loginStatus(t *testing.T, l *testLatch, clientID, secret, user, pw string) (int, string) {
	t.Helper()
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
		"client_id": {clientID}, "client_secret": {secret}, "username": {user}, "password": {pw}, "scope": {"openid"},
	})
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return resp.StatusCode, e.Error
}

// waitForEvents polls the log until q matches at least n events: the event writer stores
// events in batches, a moment after the request that caused them.
func waitForEvents(t *testing.T, l *testLatch, mgmt, q string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/logs?q="+url.QueryEscape(q), mgmt, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /logs?q=%s: %d %s", q, resp.StatusCode, body)
		}
		var events []map[string]any
		mustJSON(t, body, &events)
		if len(events) >= n {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has %d event(s) for %s, want %d", len(events), q, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rowTexts returns the innerText of each row of a table's body.
func rowTexts(b *browsertest.Browser, table string) []string {
	var rows []string
	b.Eval(fmt.Sprintf(`[...document.querySelectorAll('%s tbody tr')].map((r) => r.innerText)`, table), &rows)
	return rows
}

// TestConsoleUsers: search a user, edit user_metadata with the merge preview (a changed key,
// a removed one, an untouched one), refuse invalid JSON at its line, block the user (whose
// next login is refused, and the log says so) and unblock, lift brute-force blocks, delete a
// user, and use the list at 390 px.
func TestConsoleUsers(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	appID, appSecret := mgmtAppClient(t, l, mgmt)
	grace := mgmtCreateUser(t, l, mgmt, "grace.hopper@example.com", map[string]any{
		"name":          "Grace Hopper",
		"user_metadata": map[string]any{"plan": "basic", "theme": "dark", "big": 9007199254740993},
	})
	graceID := grace["user_id"].(string)
	mgmtCreateUser(t, l, mgmt, "alan.turing@example.com", map[string]any{"name": "Alan Turing"})
	passwordLogin(t, l, appID, appSecret, "grace.hopper@example.com", strongPassword, http.StatusOK)
	waitForEvents(t, l, mgmt, fmt.Sprintf(`type:s AND user_id:%q`, graceID), 1)

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	consoleGoTo(t, b, "/users")
	b.WaitVisible("#users-table")
	b.Screenshot("users-list")
	if rows := rowTexts(b, "#users-table"); len(rows) != 3 {
		t.Fatalf("the user list shows %d rows, want 3 (the admin, grace, alan): %q", len(rows), rows)
	}

	// Search by email: the filter becomes a clause of q, and only grace is listed.
	b.Fill("#users-email", "hopper@")
	b.Click("#users-search")
	b.WaitFor(`document.querySelectorAll('#users-table tbody tr').length === 1`)
	rows := rowTexts(b, "#users-table")
	if !strings.Contains(rows[0], "grace.hopper@example.com") || !strings.Contains(rows[0], "Grace Hopper") ||
		!strings.Contains(rows[0], dbConnection) || !strings.Contains(b.Text("#users-count"), "1 user") {
		t.Fatalf("search by email: rows %q, count %q", rows, b.Text("#users-count"))
	}
	if q := b.Text("#users-effective-q"); !strings.Contains(q, `email:*hopper@*`) {
		t.Fatalf("the search shown = %q", q)
	}
	// The q box takes the search syntax itself.
	b.Fill("#users-email", "")
	b.Fill("#users-q", `name:"Alan Turing" OR email:grace*`)
	b.Click("#users-search")
	b.WaitFor(`document.querySelectorAll('#users-table tbody tr').length === 2`)
	b.Fill("#users-q", `email:"grace.hopper@example.com"`)
	b.Click("#users-search")
	b.WaitFor(`document.querySelectorAll('#users-table tbody tr').length === 1`)
	b.Screenshot("users-search")

	// The user page: the id (with its "|") is encoded in the address.
	b.Click("#users-table a.user-link")
	b.WaitText("#user-title", "grace.hopper@example.com")
	if !strings.Contains(b.CurrentURL(), "#/users/"+url.PathEscape(graceID)) {
		t.Fatalf("user page URL %s", b.CurrentURL())
	}
	b.WaitText("#user-events", "Success Login")
	if got := b.Text("#user-logins"); got != "1" {
		t.Fatalf("logins shown: %q", got)
	}
	if got := b.Text("#user-identities"); !strings.Contains(got, dbConnection) || !strings.Contains(got, strings.TrimPrefix(graceID, "auth0|")) {
		t.Fatalf("identities shown: %q", got)
	}
	b.Screenshot("user-page")
	// 9007199254740993 cannot be shown exactly in a browser: the page says so.
	b.WaitVisible("#user-metadata-precision")
	var appPrecisionHidden bool
	b.Eval(`document.querySelector('#app-metadata-precision').hidden`, &appPrecisionHidden)
	if !appPrecisionHidden {
		t.Fatal("app_metadata (no large numbers) shows the precision note")
	}

	// user_metadata: plan changes, theme goes, big stays untouched (JavaScript cannot even hold
	// it exactly: it must not be sent back), beta is added.
	b.Fill("#user-metadata", `{"plan": "gold", "big": 9007199254740993, "beta": true}`)
	b.WaitFor(`document.querySelectorAll('#user-metadata-changes li').length === 3`)
	var changes []string
	b.Eval(`[...document.querySelectorAll('#user-metadata-changes li')].map((li) => li.dataset.change + ' ' + li.dataset.key)`, &changes)
	if want := []string{"add beta", "change plan", "remove theme"}; !slices.Equal(changes, want) {
		t.Fatalf("merge preview = %q, want %q", changes, want)
	}
	if text := b.Text("#user-metadata-changes"); !strings.Contains(text, `will change "plan": "basic" → "gold"`) || !strings.Contains(text, `will remove "theme"`) {
		t.Fatalf("merge preview text = %q", text)
	}
	b.Screenshot("user-metadata-preview")
	b.Click("#user-metadata-save")
	b.WaitText("#user-metadata-status", "No changes")
	got := mgmtUser(t, l, mgmt, graceID)
	wantMeta(t, got, "user_metadata", `{"plan": "gold", "beta": true, "big": 9007199254740993}`)

	// Invalid JSON is refused at its line, and nothing is sent.
	before := mgmtGetRaw(t, l, "/api/v2/users/"+url.PathEscape(graceID), mgmt)
	b.Fill("#user-metadata", "{\n  \"plan\": \"platinum\",\n  oops\n}")
	b.Click("#user-metadata-save")
	b.WaitVisible("#user-metadata-error")
	if msg := b.Text("#user-metadata-error"); !strings.Contains(msg, "line 3") {
		t.Fatalf("invalid JSON message = %q, want it to name line 3", msg)
	}
	var invalid string
	b.Eval(`document.querySelector('#user-metadata').getAttribute('aria-invalid')`, &invalid)
	if invalid != "true" {
		t.Fatalf("the editor is not marked invalid: %q", invalid)
	}
	b.Screenshot("user-metadata-invalid")
	if after := mgmtGetRaw(t, l, "/api/v2/users/"+url.PathEscape(graceID), mgmt); string(after) != string(before) {
		t.Fatalf("invalid JSON changed the user:\n%s\n%s", before, after)
	}
	// Leaving with unsaved edits asks first; staying keeps them.
	b.Eval(`location.hash = '#/logs'`, nil)
	b.WaitVisible(`dialog[open] [data-testid="confirm-cancel"]`)
	b.Click(`dialog[open] [data-testid="confirm-cancel"]`)
	b.WaitNotPresent(`dialog[open]`)
	if v := b.Value("#user-metadata"); !strings.Contains(v, "oops") {
		t.Fatalf("the edit was lost: %q", v)
	}
	b.Click("#user-metadata-revert")
	b.WaitText("#user-metadata-status", "No changes")

	// app_metadata: a key added.
	b.Fill("#app-metadata", `{"tier": 2}`)
	b.WaitFor(`document.querySelector('#app-metadata-changes li[data-change="add"][data-key="tier"]') !== null`)
	b.Click("#app-metadata-save")
	b.WaitText("#app-metadata-status", "No changes")
	wantMeta(t, mgmtUser(t, l, mgmt, graceID), "app_metadata", `{"tier": 2}`)

	// Block: the next login is refused; the log records it for this user.
	b.Click("#user-block")
	consoleConfirm(b)
	b.WaitVisible("#user-blocked-badge")
	if got := mgmtUser(t, l, mgmt, graceID); got["blocked"] != true {
		t.Fatalf("blocked = %v after Block", got["blocked"])
	}
	if status, code := loginStatus(t, l, appID, appSecret, "grace.hopper@example.com", strongPassword); status == http.StatusOK || code != "unauthorized" {
		t.Fatalf("login of a blocked user: %d %q, want a refusal (unauthorized)", status, code)
	}
	refused := waitForEvents(t, l, mgmt, fmt.Sprintf(`type:f AND user_id:%q`, graceID), 1)[0]
	b.Screenshot("user-blocked")
	b.Click("#user-block")
	b.WaitNotPresent("#user-blocked-badge")
	if got := mgmtUser(t, l, mgmt, graceID); got["blocked"] == true {
		t.Fatal("still blocked after Unblock")
	}
	passwordLogin(t, l, appID, appSecret, "grace.hopper@example.com", strongPassword, http.StatusOK)

	// The logs screen, filtered by the user and the type, shows the refused login.
	b.Click("#user-events-all")
	b.WaitVisible("#logs-table")
	if v := b.Value("#logs-user"); v != graceID {
		t.Fatalf("the logs filter came with user %q, want %q", v, graceID)
	}
	consoleSetValue(b, "#logs-type", "f")
	b.Click("#logs-apply")
	b.WaitFor(`document.querySelectorAll('#logs-table tbody tr').length === 1`)
	var types []string
	b.Eval(`[...document.querySelectorAll('#logs-table tbody tr')].map((r) => r.dataset.type + ' ' + r.dataset.logId)`, &types)
	if want := []string{"f " + refused["log_id"].(string)}; !slices.Equal(types, want) {
		t.Fatalf("logs filtered by user and type f: %q, want %q", types, want)
	}
	if row := rowTexts(b, "#logs-table")[0]; !strings.Contains(row, "user is blocked") || !strings.Contains(row, "Failed Login") {
		t.Fatalf("the refused login's row: %q", row)
	}
	if q := b.Text("#logs-q"); !strings.Contains(q, fmt.Sprintf(`type:f AND user_id:"%s"`, graceID)) {
		t.Fatalf("log search shown = %q", q)
	}
	b.Screenshot("logs-refused-login")
	b.Click(`#logs-table a[data-testid="log-link"]`)
	b.WaitText("#log-description", "user is blocked")
	if got := b.Text("#log-type"); got != "f" {
		t.Fatalf("log detail type = %q", got)
	}
	b.Screenshot("log-refused-login")

	// Brute-force blocks: ten wrong passwords from this address block the identifier; the
	// user page lists the address and lifts the block.
	for range 10 {
		loginStatus(t, l, appID, appSecret, "grace.hopper@example.com", "Wrong-Password-1")
	}
	if status, code := loginStatus(t, l, appID, appSecret, "grace.hopper@example.com", strongPassword); status != http.StatusTooManyRequests {
		t.Fatalf("login after ten failures: %d %q, want 429", status, code)
	}
	b.Eval(fmt.Sprintf(`location.hash = '#/users/%s'`, url.PathEscape(graceID)), nil)
	b.WaitVisible("#user-bf-table")
	if got := b.Text("#user-bf-table"); !strings.Contains(got, "127.0.0.1") || !strings.Contains(got, "grace.hopper@example.com") {
		t.Fatalf("brute-force blocks shown: %q", got)
	}
	b.Screenshot("user-bruteforce-blocks")
	b.Click("#user-bf-remove")
	b.WaitText("#user-bf", "No brute-force blocks")
	passwordLogin(t, l, appID, appSecret, "grace.hopper@example.com", strongPassword, http.StatusOK)

	// At 390 px the list still works: the table scrolls inside its box, not the page.
	b.SetViewport(390, 844)
	consoleDismissToasts(b)
	b.Eval(`location.hash = '#/users'`, nil)
	b.WaitFor(`document.querySelectorAll('#users-table tbody tr').length === 3`)
	var layout struct {
		PageWidth, BoxWidth, BoxScroll, ViewWidth int
		LinkVisible                               bool
	}
	b.Eval(`(() => {
		const box = document.querySelector('#users-table').closest('.table-scroll');
		const a = document.querySelector('#users-table a.user-link').getBoundingClientRect();
		return {PageWidth: document.documentElement.scrollWidth, BoxWidth: box.clientWidth, BoxScroll: box.scrollWidth,
			ViewWidth: window.innerWidth, LinkVisible: a.width > 0 && a.left >= 0 && a.right <= window.innerWidth};
	})()`, &layout)
	if layout.PageWidth > layout.ViewWidth || layout.BoxWidth > layout.ViewWidth || layout.BoxScroll <= layout.BoxWidth || !layout.LinkVisible {
		t.Fatalf("users list at 390 px: %+v (want the page no wider than the view and the table scrolling in its box)", layout)
	}
	b.Screenshot("users-list-390px")
	b.Fill("#users-email", "turing")
	b.Click("#users-search")
	b.WaitFor(`document.querySelectorAll('#users-table tbody tr').length === 1`)
	consoleDismissToasts(b)
	b.Click("#users-table a.user-link")
	b.WaitText("#user-title", "alan.turing@example.com")
	b.Screenshot("user-page-390px")
	b.SetViewport(1280, 900)

	// Delete: the button waits for the email to be typed, then asks.
	alanID := userIDByEmail(t, l, mgmt, "alan.turing@example.com")
	var disabled bool
	b.Eval(`document.querySelector('#user-delete').disabled`, &disabled)
	if !disabled {
		t.Fatal("Delete is enabled before the email was typed")
	}
	b.Fill("#user-delete-confirm", "alan.turing@example.com")
	b.Click("#user-delete")
	consoleConfirm(b)
	b.WaitFor(`location.hash === '#/users'`)
	if resp, _ := l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(alanID), mgmt, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET a deleted user: %d, want 404", resp.StatusCode)
	}
	b.AssertNoConsoleErrors()
}

// TestConsoleLogs: the log with its filters (type, user, client, time), and an event in full
// with the console output of the rules that ran for the login.
func TestConsoleLogs(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	appID, appSecret := mgmtAppClient(t, l, mgmt)
	u := mgmtCreateUser(t, l, mgmt, "linus@example.com", nil)
	userID := u["user_id"].(string)
	createRule(t, l, mgmt, "greeter", `function (user, context, callback) {
  console.log('hello from the greeter rule for ' + user.email);
  callback(null, user, context);
}`)
	passwordLogin(t, l, appID, appSecret, "linus@example.com", strongPassword, http.StatusOK)
	passwordLogin(t, l, appID, appSecret, "linus@example.com", "Wrong-Password-1", http.StatusForbidden)
	success := waitForEvents(t, l, mgmt, fmt.Sprintf(`type:s AND user_id:%q`, userID), 1)[0]
	waitForEvents(t, l, mgmt, fmt.Sprintf(`type:fp AND user_id:%q`, userID), 1)

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	consoleGoTo(t, b, "/logs")
	b.WaitVisible("#logs-table")
	b.Screenshot("logs")
	if n := len(rowTexts(b, "#logs-table")); n < 3 {
		t.Fatalf("the log shows %d events, want the logins and the API writes", n)
	}

	onlyTypes := func(want ...string) {
		t.Helper()
		var got []string
		b.Eval(`[...new Set([...document.querySelectorAll('#logs-table tbody tr')].map((r) => r.dataset.type))].sort()`, &got)
		if !slices.Equal(got, want) {
			t.Fatalf("types listed = %q, want %q", got, want)
		}
	}
	// applyFilters applies the filters and waits for the new table, with rows rows: the
	// table on show is marked first, so that it cannot pass for the answer.
	applyFilters := func(rows int) {
		t.Helper()
		b.Eval(`document.querySelectorAll('#logs-table').forEach((t) => { t.dataset.stale = '1'; })`, nil)
		b.Click("#logs-apply")
		b.WaitFor(fmt.Sprintf(`(() => { const t = document.querySelector('#logs-table');
			return !!t && !t.dataset.stale && t.querySelectorAll('tbody tr').length === %d; })()`, rows))
	}
	// By type.
	consoleSetValue(b, "#logs-type", "fp")
	applyFilters(1)
	onlyTypes("fp")
	// By user, with the group of password logins.
	consoleSetValue(b, "#logs-type", "(s OR f OR fp OR fu)")
	b.Fill("#logs-user", userID)
	applyFilters(2)
	onlyTypes("fp", "s")
	// By client: the console's own sign-in and the API writes are not the app's.
	consoleSetValue(b, "#logs-type", "")
	b.Fill("#logs-user", "")
	b.Fill("#logs-client", appID)
	applyFilters(2)
	onlyTypes("fp", "s")
	// By time: a range in the past holds nothing; one around now holds the logins.
	b.Fill("#logs-client", "")
	consoleSetValue(b, "#logs-from", "2020-01-01T00:00")
	consoleSetValue(b, "#logs-to", "2020-12-31T23:59")
	b.Click("#logs-apply")
	b.WaitText("#logs-results", "No event matches")
	if q := b.Text("#logs-q"); !strings.Contains(q, "date:[2020-") || !strings.Contains(q, " TO 2020-12-3") {
		t.Fatalf("date search shown = %q", q)
	}
	b.Screenshot("logs-empty-range")
	var from, to string
	b.Eval(`(() => { const p = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
		return p(new Date(Date.now() - 3600e3)); })()`, &from)
	b.Eval(`(() => { const p = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
		return p(new Date(Date.now() + 3600e3)); })()`, &to)
	consoleSetValue(b, "#logs-from", from)
	consoleSetValue(b, "#logs-to", to)
	consoleSetValue(b, "#logs-type", "s")
	b.Fill("#logs-user", userID)
	b.Click("#logs-apply")
	b.WaitFor(`document.querySelectorAll('#logs-table tbody tr').length === 1`)
	onlyTypes("s")

	// The login's event in full, with what the rule printed.
	b.Click(`#logs-table a[data-testid="log-link"]`)
	b.WaitVisible("#log-console")
	if !strings.Contains(b.CurrentURL(), success["log_id"].(string)) {
		t.Fatalf("detail of %s opened, want %s", b.CurrentURL(), success["log_id"])
	}
	if out := b.Text("#log-console"); !strings.Contains(out, "hello from the greeter rule for linus@example.com") {
		t.Fatalf("console output shown = %q", out)
	}
	if got := b.Text("#log-rules-scripts"); !strings.Contains(got, "greeter") {
		t.Fatalf("scripts shown = %q", got)
	}
	if got := b.Text("#log-props"); !strings.Contains(got, "linus@example.com") || !strings.Contains(got, "mgmt test app") {
		t.Fatalf("event properties shown = %q", got)
	}
	b.Screenshot("log-detail")
	b.SetViewport(390, 844)
	b.Screenshot("log-detail-390px")
	b.AssertNoConsoleErrors()
}

// TestConsoleKeys: rotate the signing key and see the new kid; revoke the previous key.
func TestConsoleKeys(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	type key struct {
		KID                              string
		Current, Next, Previous, Revoked bool
	}
	keys := func() map[string]key {
		var list []key
		mustJSON(t, mgmtGetRaw(t, l, "/api/v2/keys/signing", mgmt), &list)
		out := map[string]key{}
		for _, k := range list {
			out[k.KID] = k
		}
		return out
	}
	currentKID := func(m map[string]key) string {
		for kid, k := range m {
			if k.Current {
				return kid
			}
		}
		return ""
	}
	oldKID := currentKID(keys())

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	consoleGoTo(t, b, "/keys")
	b.WaitVisible("#keys-table")
	if got := b.Text("#keys-current-kid"); got != oldKID {
		t.Fatalf("current kid shown = %q, want %q", got, oldKID)
	}
	b.Screenshot("keys")

	b.Click("#keys-rotate")
	consoleConfirm(b)
	b.WaitFor(fmt.Sprintf(`(document.querySelector('#keys-current-kid') || {}).innerText !== %q`, oldKID))
	newKID := currentKID(keys())
	if newKID == oldKID || b.Text("#keys-current-kid") != newKID {
		t.Fatalf("after rotate: API current %q, shown %q, old %q", newKID, b.Text("#keys-current-kid"), oldKID)
	}
	var state string
	b.Eval(fmt.Sprintf(`document.querySelector('#keys-table tr[data-kid=%q]').dataset.state`, oldKID), &state)
	if state != "previous" || !keys()[oldKID].Previous {
		t.Fatalf("old key state shown %q, API %+v", state, keys()[oldKID])
	}
	b.Screenshot("keys-rotated")

	// Revoking the previous key also ends the console's own token (it was signed with that
	// key): the console signs in again through the SSO session and comes back here.
	b.Click(fmt.Sprintf(`[data-testid="revoke-%s"]`, oldKID))
	consoleConfirm(b)
	b.WaitFor(fmt.Sprintf(`(document.querySelector('#keys-table tr[data-kid=%q]') || {dataset: {}}).dataset.state === 'revoked'`, oldKID))
	mgmt = l.ManagementToken(t, "") // the test's token was signed with the revoked key too
	if k := keys()[oldKID]; !k.Revoked {
		t.Fatalf("old key after revoke: %+v", k)
	}
	if currentKID(keys()) != newKID {
		t.Fatal("revoking the previous key changed the current one")
	}
	b.Screenshot("keys-revoked")
	b.AssertNoConsoleErrors("status of 401")
}

// TestConsoleClients: create an application, edit its callbacks (an invalid URL is refused
// at its line), origins and grants, reveal its secret, and delete it.
func TestConsoleClients(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	existing := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", mgmt, map[string]any{
		"name": "Storefront", "app_type": "regular_web", "callbacks": []string{"https://shop.example.com/callback"},
	}, http.StatusCreated)
	id := existing["client_id"].(string)
	secret := existing["client_secret"].(string)
	client := func(id string) map[string]any {
		return mgmtJSON(t, l, http.MethodGet, "/api/v2/clients/"+url.PathEscape(id), mgmt, nil, http.StatusOK)
	}
	list := func(v any) []string {
		var out []string
		for _, s := range v.([]any) {
			out = append(out, s.(string))
		}
		return out
	}

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	consoleGoTo(t, b, "/clients")
	b.WaitVisible("#clients-table")
	if got := b.Text("#clients-table"); !strings.Contains(got, "Storefront") || !strings.Contains(got, id) {
		t.Fatalf("clients list = %q", got)
	}
	if strings.Contains(b.Text("main"), secret) {
		t.Fatal("the clients list shows a secret")
	}
	b.Screenshot("clients")
	b.Click(fmt.Sprintf(`#clients-table tr[data-client-id=%q] a.client-link`, id))
	b.WaitText("#client-title", "Storefront")
	if got := b.Value("#client-callbacks"); got != "https://shop.example.com/callback" {
		t.Fatalf("callbacks shown = %q", got)
	}

	// The secret is on the page only once revealed.
	if b.Exists("#client-secret") || strings.Contains(b.Text("main"), secret) {
		t.Fatal("the secret is on the page before Reveal")
	}
	b.Click("#client-secret-reveal")
	b.WaitVisible("#client-secret")
	if got := b.Text("#client-secret"); got != secret {
		t.Fatalf("revealed secret = %q, want the client's", got)
	}
	b.Screenshot("client-secret-revealed")
	b.Click("#client-secret-reveal")
	b.WaitNotPresent("#client-secret")

	// An invalid callback is refused at its line; nothing is saved.
	before := mgmtGetRaw(t, l, "/api/v2/clients/"+url.PathEscape(id), mgmt)
	b.Fill("#client-callbacks", "https://shop.example.com/callback\njavascript:alert(1)")
	b.Click("#client-save")
	b.WaitVisible("#client-callbacks-error")
	if msg := b.Text("#client-callbacks-error"); !strings.Contains(msg, "Line 2") {
		t.Fatalf("callback error = %q, want it to name line 2", msg)
	}
	b.Screenshot("client-invalid-callback")
	b.Fill("#client-web-origins", "https://shop.example.com/path")
	b.Fill("#client-callbacks", "https://shop.example.com/callback\nhttps://shop.example.com/other")
	b.Click("#client-save")
	b.WaitVisible("#client-web-origins-error")
	if after := mgmtGetRaw(t, l, "/api/v2/clients/"+url.PathEscape(id), mgmt); string(after) != string(before) {
		t.Fatalf("an invalid form changed the client:\n%s\n%s", before, after)
	}

	// Valid lists, a grant and a description are saved.
	b.Fill("#client-web-origins", "https://shop.example.com")
	b.Fill("#client-allowed-origins", "https://shop.example.com\nhttps://admin.shop.example.com")
	b.Fill("#client-logout-urls", "https://shop.example.com/")
	b.Fill("#client-description", "The shop")
	b.Click("#grant-refresh-token")
	b.Click("#client-save")
	b.WaitText("#client-save-status", "Saved")
	c := client(id)
	if got := list(c["callbacks"]); !slices.Equal(got, []string{"https://shop.example.com/callback", "https://shop.example.com/other"}) {
		t.Fatalf("callbacks saved = %q", got)
	}
	if got := list(c["allowed_origins"]); !slices.Equal(got, []string{"https://shop.example.com", "https://admin.shop.example.com"}) {
		t.Fatalf("allowed_origins saved = %q", got)
	}
	if got := list(c["web_origins"]); !slices.Equal(got, []string{"https://shop.example.com"}) {
		t.Fatalf("web_origins saved = %q", got)
	}
	if got := list(c["allowed_logout_urls"]); !slices.Equal(got, []string{"https://shop.example.com/"}) {
		t.Fatalf("allowed_logout_urls saved = %q", got)
	}
	grants := list(c["grant_types"])
	if slices.Contains(grants, "refresh_token") == slices.Contains(list(existing["grant_types"]), "refresh_token") {
		t.Fatalf("grant_types %q: refresh_token was not toggled (before: %q)", grants, existing["grant_types"])
	}
	if c["description"] != "The shop" {
		t.Fatalf("description saved = %v", c["description"])
	}
	b.Screenshot("client-saved")

	// Create one, then delete it.
	consoleGoTo(t, b, "/clients")
	b.Click("#clients-create")
	b.WaitVisible("#client-create-form")
	b.Fill("#client-name", "Mobile app")
	consoleSetValue(b, "#client-app-type", "native")
	b.Click("#client-create-submit")
	b.WaitText("#client-title", "Mobile app")
	newID := strings.TrimPrefix(b.CurrentURL()[strings.Index(b.CurrentURL(), "#/clients/"):], "#/clients/")
	created := client(newID)
	if created["name"] != "Mobile app" || created["app_type"] != "native" || created["token_endpoint_auth_method"] != "none" {
		t.Fatalf("created client = %v", created)
	}
	if b.Exists("#client-secret-reveal") {
		t.Fatal("a public client (auth method none) offers a secret")
	}
	b.SetViewport(390, 844)
	b.Screenshot("client-edit-390px")
	b.SetViewport(1280, 900)
	b.Click("#client-delete")
	consoleConfirm(b)
	b.WaitFor(`location.hash === '#/clients'`)
	if resp, _ := l.Do(t, http.MethodGet, "/api/v2/clients/"+url.PathEscape(newID), mgmt, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET a deleted client: %d, want 404", resp.StatusCode)
	}
	for _, m := range b.ConsoleMessages() {
		if strings.Contains(m.Text, secret) {
			t.Fatalf("the secret reached the browser console: %s", m)
		}
	}
	b.AssertNoConsoleErrors()
}
