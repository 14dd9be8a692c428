package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchauth/latch/internal/browsertest"
)

// The admin console's rules, dry-run, rules-secrets and actions screens, in real Chromium
// against a real latch. What the admin does in the page is checked through the Management
// API, and the tokens of a real login afterwards.

// brokenPlanRule has a syntax error on line 3: an assignment without a right-hand side.
const brokenPlanRule = `function (user, context, callback) {
  var plan = (user.user_metadata || {}).plan;
  context.idToken['https://example.com/plan'] = ;
  callback(null, user, context);
}`

// consolePlanRule copies user_metadata.plan into the ID token, logs it and saves a key in
// user_metadata.
const consolePlanRule = `function (user, context, callback) {
  var plan = (user.user_metadata || {}).plan;
  context.idToken['https://example.com/plan'] = plan;
  user.user_metadata = user.user_metadata || {};
  user.user_metadata.plan_checked = 'yes';
  console.log('plan is ' + plan);
  auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
    .then(function () { callback(null, user, context); })
    .catch(function (err) { callback(err); });
}`

// rcSetEditor replaces the text of a textarea as a paste would: the value, then an input event.
// (Typing a script key by key would go through the editor's auto-indent.)
func rcSetEditor(b *browsertest.Browser, sel, text string) {
	b.Eval(fmt.Sprintf(`(() => {
		const ta = document.querySelector(%s);
		ta.focus();
		ta.value = %s;
		ta.dispatchEvent(new Event('input', {bubbles: true}));
	})()`, jsLiteral(sel), jsLiteral(text)), nil)
}

// rcSelect chooses an option of a select, with the change event a person's choice fires.
func rcSelect(b *browsertest.Browser, sel, value string) {
	b.Eval(fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		el.value = %s;
		if (el.value !== %s) throw new Error('no such option');
		el.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, jsLiteral(sel), jsLiteral(value), jsLiteral(value)), nil)
}

// rcGo opens a screen by its nav link.
func rcGo(t *testing.T, b *browsertest.Browser, path string) {
	t.Helper()
	link := fmt.Sprintf(`#nav a[data-nav=%s]`, jsLiteral(path))
	if !b.Exists(link) {
		t.Fatalf("the nav has no link to %s", path)
	}
	b.Eval(fmt.Sprintf(`document.querySelector(%s).click()`, jsLiteral(link)), nil)
	b.WaitFor(fmt.Sprintf(`location.hash === %s && !document.querySelector('main[aria-busy]')`, jsLiteral("#"+path)))
}

// rcKey sends one key press (with modifiers) to the focused element.
func rcKey(b *browsertest.Browser, key string, mods ...chromedp.Modifier) {
	b.Do(chromedp.KeyEvent(key, chromedp.KeyModifiers(mods...)))
}

func jsLiteral(s string) string {
	out, _ := json.Marshal(s)
	return string(out)
}

// rulesByOrder lists the rules' names in pipeline order, through the API.
func rulesByOrder(t *testing.T, l *testLatch, mgmt string) []string {
	t.Helper()
	resp, data := l.Do(t, http.MethodGet, "/api/v2/rules", mgmt, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /rules: %d %s", resp.StatusCode, data)
	}
	var rs []struct {
		Name  string
		Order int
	}
	mustJSON(t, data, &rs)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Order < rs[j].Order })
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return names
}

// rcUserMetadata reads a user's user_metadata through the API.
func rcUserMetadata(t *testing.T, l *testLatch, mgmt, id string) map[string]any {
	t.Helper()
	u := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+url.PathEscape(id), mgmt, nil, http.StatusOK)
	meta, _ := u["user_metadata"].(map[string]any)
	return meta
}

// pageHolds reports whether the page's markup or any field's value contains s.
func pageHolds(b *browsertest.Browser, s string) bool {
	var found bool
	b.Eval(fmt.Sprintf(`(() => {
		const s = %s;
		if (document.documentElement.outerHTML.includes(s) || document.body.innerText.includes(s)) return true;
		return [...document.querySelectorAll('input, textarea, select')].some((el) => String(el.value).includes(s));
	})()`, jsLiteral(s)), &found)
	return found
}

// TestConsoleRuleEditor: an admin creates a rule with a syntax error and sees it at its line,
// fixes it, dry-runs it against a user (the claim, the metadata diff, the console output;
// nothing saved), saves and enables it; then a real login carries the claim.
func TestConsoleRuleEditor(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "grace@example.com", "Compiler-Pioneer-1", map[string]any{"plan": "platinum"})
	graceID := userIDByEmail(t, l, mgmt, "grace@example.com")

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	b.WaitVisible("#create-rule")
	if got := b.Title(); !strings.HasPrefix(got, "Rules") {
		t.Errorf("title on the rules screen = %q", got)
	}
	b.Screenshot("rules-empty")

	// A new rule with a syntax error on line 3.
	b.Click("#create-rule")
	b.WaitVisible("#rule-name")
	b.Fill("#rule-name", "plan-claim")
	rcSetEditor(b, "#rule-script", brokenPlanRule)
	b.AssertNoConsoleErrors()
	b.Click("#rule-save")
	msg := b.WaitText("#rule-error", "line 3")
	b.ClearConsole() // the browser logs the API's 400, which is the point here
	if !strings.Contains(strings.ToLower(msg), "syntax error at line 3") {
		t.Errorf("#rule-error = %q, want the syntax error at line 3", msg)
	}
	var marked struct {
		Lines    []string
		Label    string
		Invalid  string
		Focused  string
		CaretRow int
	}
	b.Eval(`(() => {
		const ta = document.querySelector('#rule-script');
		const marks = [...document.querySelectorAll('.code-gutter .ln.has-error')];
		return {
			lines: marks.map((m) => m.dataset.line),
			label: marks.length ? marks[0].getAttribute('aria-label') : '',
			invalid: ta.getAttribute('aria-invalid'),
			focused: document.activeElement.id,
			caretRow: ta.value.slice(0, ta.selectionStart).split('\n').length,
		};
	})()`, &marked)
	if !slices.Equal(marked.Lines, []string{"3"}) || !strings.Contains(marked.Label, "Line 3") ||
		marked.Invalid != "true" || marked.Focused != "rule-script" || marked.CaretRow != 3 {
		t.Errorf("after the syntax error: %+v, want gutter line 3 marked, the textarea invalid and focused, the caret on line 3", marked)
	}
	if rs := rulesByOrder(t, l, mgmt); len(rs) != 0 {
		t.Fatalf("a rule that does not compile was saved: %v", rs)
	}
	b.Screenshot("rule-syntax-error")

	// Leaving with unsaved changes asks first; staying keeps the draft.
	b.Eval(`document.querySelector('#nav a[data-nav="/rules-configs"]').click()`, nil)
	b.WaitVisible(`dialog[open] [data-testid="confirm-cancel"]`)
	b.Click(`dialog[open] [data-testid="confirm-cancel"]`)
	b.WaitNotPresent("dialog[open]")
	// The router puts the address back once the dialog's answer is in, just after it closes.
	b.WaitFor(`location.hash === '#/rules/new'`)
	if v := b.Value("#rule-name"); v != "plan-claim" || !strings.HasSuffix(b.CurrentURL(), "#/rules/new") {
		t.Fatalf("after refusing to leave: name %q at %s", v, b.CurrentURL())
	}

	// Tab indents inside the editor; Escape then Tab leaves it.
	rcSetEditor(b, "#rule-script", "x")
	b.Eval(`document.querySelector('#rule-script').setSelectionRange(0, 0)`, nil)
	rcKey(b, kb.Tab)
	var afterTab struct {
		Value, Focused string
	}
	b.Eval(`({value: document.querySelector('#rule-script').value, focused: document.activeElement.id})`, &afterTab)
	if afterTab.Value != "  x" || afterTab.Focused != "rule-script" {
		t.Errorf("Tab in the editor: %+v, want two spaces inserted and focus kept", afterTab)
	}
	rcKey(b, kb.Escape)
	rcKey(b, kb.Tab)
	b.Eval(`({value: document.querySelector('#rule-script').value, focused: document.activeElement.id})`, &afterTab)
	if afterTab.Value != "  x" || afterTab.Focused == "rule-script" {
		t.Errorf("Escape then Tab: %+v, want focus to leave the editor", afterTab)
	}

	// Fixed, then tried against grace with the app client.
	rcSetEditor(b, "#rule-script", consolePlanRule)
	b.Fill("#dryrun-user-q", "grace@")
	b.Click("#dryrun-user-search")
	b.WaitVisible(fmt.Sprintf(`#dryrun-users input[value=%s]`, jsLiteral(graceID)))
	b.Click(fmt.Sprintf(`#dryrun-users input[value=%s]`, jsLiteral(graceID)))
	b.WaitFor(fmt.Sprintf(`document.querySelector('#dryrun-client option[value=%s]')`, jsLiteral(clientID)))
	rcSelect(b, "#dryrun-client", clientID)
	b.Click("#dryrun-run")
	b.WaitVisible("#dryrun-id-token")
	var dry struct {
		Claim, Outcome, Nothing string
		Added, Same             string
		AddedClass              bool
		Console                 string
		Timings                 string
		Marks                   int
		ErrorShown              bool
	}
	b.Eval(`(() => {
		const q = (s) => document.querySelector(s);
		const added = q('#dryrun-user-metadata tr[data-key="plan_checked"]');
		return {
			claim: q('#dryrun-id-token tr[data-claim="https://example.com/plan"] td')?.innerText,
			outcome: q('#dryrun-outcome')?.dataset.outcome,
			nothing: q('#dryrun-nothing-saved')?.innerText,
			added: added?.dataset.change,
			addedClass: !!added && added.classList.contains('diff-added'),
			same: q('#dryrun-user-metadata tr[data-key="plan"]')?.dataset.change,
			console: q('#dryrun-console')?.innerText,
			timings: q('#dryrun-timings')?.innerText,
			marks: document.querySelectorAll('.code-gutter .has-error').length,
			errorShown: !q('#rule-error').hidden,
		};
	})()`, &dry)
	if dry.Claim != `"platinum"` || dry.Outcome != "ok" || !strings.Contains(dry.Nothing, "Nothing was saved") {
		t.Errorf("dry run: claim %q, outcome %q, notice %q", dry.Claim, dry.Outcome, dry.Nothing)
	}
	if dry.Added != "added" || !dry.AddedClass || dry.Same != "same" {
		t.Errorf("metadata diff: plan_checked %q (highlighted %v), plan %q; want added and same", dry.Added, dry.AddedClass, dry.Same)
	}
	if !strings.Contains(dry.Console, "plan is platinum") || !strings.Contains(dry.Timings, "plan-claim") || !strings.Contains(dry.Timings, "ms") {
		t.Errorf("console %q, timings %q", dry.Console, dry.Timings)
	}
	if dry.Marks != 0 || dry.ErrorShown {
		t.Errorf("the fixed draft still shows the old error: %d marks, error shown %v", dry.Marks, dry.ErrorShown)
	}
	b.Screenshot("rule-dry-run")
	// Nothing was saved: no rule, and grace's metadata as it was.
	if rs := rulesByOrder(t, l, mgmt); len(rs) != 0 {
		t.Fatalf("the dry run saved a rule: %v", rs)
	}
	if meta := rcUserMetadata(t, l, mgmt, graceID); meta["plan_checked"] != nil {
		t.Fatalf("the dry run wrote user_metadata: %v", meta)
	}

	// Saved (disabled, as new rules start), then enabled with the switch.
	b.Click("#rule-save")
	b.WaitText("#rule-status", "Saved")
	b.WaitFor(`location.hash !== '#/rules/new'`)
	resp, data := l.Do(t, http.MethodGet, "/api/v2/rules", mgmt, nil)
	var saved []struct {
		ID, Name, Script string
		Enabled          bool
	}
	mustJSON(t, data, &saved)
	if resp.StatusCode != http.StatusOK || len(saved) != 1 || saved[0].Name != "plan-claim" || saved[0].Script != consolePlanRule || saved[0].Enabled {
		t.Fatalf("saved rules: %s", data)
	}
	if !strings.HasSuffix(b.CurrentURL(), "#/rules/"+url.PathEscape(saved[0].ID)) {
		t.Errorf("after the first save the page is at %s, want the rule's own address", b.CurrentURL())
	}
	if tr := realmLogin(t, l, clientID, secret, "grace@example.com", "Compiler-Pioneer-1"); decodeJWTPayload(t, tr.IDToken)["https://example.com/plan"] != nil {
		t.Fatal("a disabled rule ran at a login")
	}
	b.Click("#rule-enabled")
	b.WaitText("#toasts", "plan-claim is enabled")
	if r := mgmtJSON(t, l, http.MethodGet, "/api/v2/rules/"+saved[0].ID, mgmt, nil, http.StatusOK); r["enabled"] != true {
		t.Fatalf("after the switch: %v", r)
	}
	b.Screenshot("rule-saved")

	// A real login runs it: the claim in the ID token, the metadata saved.
	tr := realmLogin(t, l, clientID, secret, "grace@example.com", "Compiler-Pioneer-1")
	if claims := decodeJWTPayload(t, tr.IDToken); claims["https://example.com/plan"] != "platinum" {
		t.Fatalf("ID token after enabling the rule: %v", claims)
	}
	if meta := rcUserMetadata(t, l, mgmt, graceID); meta["plan_checked"] != "yes" || meta["plan"] != "platinum" {
		t.Fatalf("user_metadata after the login: %v", meta)
	}

	// Renamed in the editor.
	b.Fill("#rule-name", "plan claim v2")
	b.Click("#rule-save")
	b.WaitText("#rule-title", "plan claim v2")
	if r := mgmtJSON(t, l, http.MethodGet, "/api/v2/rules/"+saved[0].ID, mgmt, nil, http.StatusOK); r["name"] != "plan claim v2" || r["script"] != consolePlanRule {
		t.Fatalf("after rename: %v", r)
	}

	// The list shows it enabled; leaving the clean editor asks nothing.
	rcGo(t, b, "/rules")
	b.WaitVisible(`#rules-list li`)
	var enabled bool
	b.Eval(`document.querySelector('#rules-list input[role="switch"]').checked`, &enabled)
	if !enabled || b.Exists("dialog[open]") {
		t.Errorf("rules list: switch checked %v, dialog open %v", enabled, b.Exists("dialog[open]"))
	}
	b.AssertNoConsoleErrors()
}

// TestConsoleRulesOrder: the rules list reorders by keyboard (Alt+ArrowUp on a row, and the
// Move down button) and the order is saved; the switch disables a rule; delete asks first; and
// at 390 px wide the nav opens from its menu button without sideways scrolling.
func TestConsoleRulesOrder(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	const script = `function (user, context, callback) { callback(null, user, context); }`
	ids := map[string]string{}
	for _, name := range []string{"first", "second", "third"} {
		ids[name] = createRule(t, l, mgmt, name, script)
	}

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	b.WaitVisible("#rules-list li")
	row := func(name string) string { return fmt.Sprintf(`#rules-list li[data-key=%s]`, jsLiteral(ids[name])) }
	idle := `!document.querySelector('#rules-list[aria-busy]')`

	// Alt+ArrowUp on the focused row of "third" moves it above "second".
	b.Eval(fmt.Sprintf(`document.querySelector(%s).focus()`, jsLiteral(row("third"))), nil)
	rcKey(b, kb.ArrowUp, chromedp.ModifierAlt)
	b.WaitFor(idle + ` && document.querySelector('#rules-list li:nth-child(2)').dataset.key === ` + jsLiteral(ids["third"]))
	if got := rulesByOrder(t, l, mgmt); !slices.Equal(got, []string{"first", "third", "second"}) {
		t.Fatalf("after Alt+ArrowUp: %v", got)
	}
	var focused string
	b.Eval(`document.activeElement.closest('li')?.dataset.key`, &focused)
	if focused != ids["third"] {
		t.Errorf("focus after the move is on %q, want the moved row", focused)
	}

	// The Move down button of "first", pressed with the keyboard.
	b.Eval(fmt.Sprintf(`document.querySelector(%s).focus()`, jsLiteral(row("first")+` button[data-move="down"]`)), nil)
	rcKey(b, kb.Enter)
	b.WaitFor(idle + ` && document.querySelector('#rules-list li:nth-child(2)').dataset.key === ` + jsLiteral(ids["first"]))
	if got := rulesByOrder(t, l, mgmt); !slices.Equal(got, []string{"third", "first", "second"}) {
		t.Fatalf("after Move down: %v", got)
	}
	// The list after a reload agrees with the API.
	b.Reload()
	b.WaitVisible("#rules-list li")
	var shown []string
	b.Eval(`[...document.querySelectorAll('#rules-list [data-testid="rule-name"]')].map((a) => a.innerText)`, &shown)
	if !slices.Equal(shown, []string{"third", "first", "second"}) {
		t.Fatalf("list after reload: %v", shown)
	}
	b.Screenshot("rules-reordered")

	// Drag "second" onto the top half of "third": it goes first.
	b.Eval(fmt.Sprintf(`(() => {
		const from = document.querySelector(%s), to = document.querySelector(%s);
		const dt = new DataTransfer();
		const r = to.getBoundingClientRect();
		const at = {bubbles: true, cancelable: true, dataTransfer: dt, clientX: r.left + 10, clientY: r.top + 2};
		from.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
		to.dispatchEvent(new DragEvent('dragover', at));
		to.dispatchEvent(new DragEvent('drop', at));
		from.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: dt}));
	})()`, jsLiteral(row("second")), jsLiteral(row("third"))), nil)
	b.WaitFor(idle + ` && document.querySelector('#rules-list li:nth-child(1)').dataset.key === ` + jsLiteral(ids["second"]))
	if got := rulesByOrder(t, l, mgmt); !slices.Equal(got, []string{"second", "third", "first"}) {
		t.Fatalf("after drag and drop: %v", got)
	}

	// The switch disables a rule.
	b.Click(row("second") + ` input[role="switch"]`)
	b.WaitText("#toasts", "second is disabled")
	if r := mgmtJSON(t, l, http.MethodGet, "/api/v2/rules/"+ids["second"], mgmt, nil, http.StatusOK); r["enabled"] != false {
		t.Fatalf("after the switch: %v", r)
	}

	// Delete asks first: Cancel keeps the rule, Delete removes it.
	b.Click(row("first") + ` [data-testid="rule-delete"]`)
	b.WaitVisible(`dialog[open] [data-testid="confirm-cancel"]`)
	b.Click(`dialog[open] [data-testid="confirm-cancel"]`)
	b.WaitNotPresent("dialog[open]")
	if got := rulesByOrder(t, l, mgmt); len(got) != 3 {
		t.Fatalf("cancelled delete removed a rule: %v", got)
	}
	b.Click(row("first") + ` [data-testid="rule-delete"]`)
	b.WaitVisible(`dialog[open] [data-testid="confirm-ok"]`)
	b.Click(`dialog[open] [data-testid="confirm-ok"]`)
	b.WaitNotPresent(row("first"))
	if got := rulesByOrder(t, l, mgmt); !slices.Equal(got, []string{"second", "third"}) {
		t.Fatalf("after delete: %v", got)
	}

	// A phone: the nav is behind the menu button, opens, and navigates.
	b.SetViewport(390, 844)
	b.Reload()
	b.WaitVisible("#menu-button")
	var narrow struct {
		NavShown bool
		Overflow bool
	}
	b.Eval(`({navShown: !!document.querySelector('#nav').offsetParent, overflow: document.documentElement.scrollWidth > innerWidth})`, &narrow)
	if narrow.NavShown || narrow.Overflow {
		t.Errorf("at 390 px before opening the menu: %+v", narrow)
	}
	b.Screenshot("rules-narrow")
	b.Click("#menu-button")
	b.WaitVisible(`#nav a[data-nav="/rules-configs"]`)
	if b.Text("#signed-in-as") != admin.Email {
		t.Errorf("the open menu shows %q, want the admin's email", b.Text("#signed-in-as"))
	}
	b.Screenshot("nav-narrow")
	b.Click(`#nav a[data-nav="/rules-configs"]`)
	b.WaitVisible("#secret-key")
	b.Eval(`({navShown: !!document.querySelector('#nav').offsetParent, overflow: document.documentElement.scrollWidth > innerWidth})`, &narrow)
	if narrow.NavShown || narrow.Overflow {
		t.Errorf("at 390 px after navigating: %+v (the menu should close, nothing should overflow)", narrow)
	}
	// The editor fits too.
	b.Navigate(l.URL + "/admin/#/rules/" + ids["third"])
	b.WaitVisible("#rule-script")
	b.Eval(`({navShown: !!document.querySelector('#nav').offsetParent, overflow: document.documentElement.scrollWidth > innerWidth})`, &narrow)
	if narrow.Overflow {
		t.Errorf("the rule editor at 390 px scrolls sideways")
	}
	b.Screenshot("rule-editor-narrow")
	b.AssertNoConsoleErrors()
}

// TestConsoleRulesSecrets: a secret is added, replaced and deleted, its value never on the
// page; a rule's dry run reads what the page stored.
func TestConsoleRulesSecrets(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)
	signup(t, l, clientID, "ken@example.com", "Unix-Pioneer-69", nil)
	kenID := userIDByEmail(t, l, mgmt, "ken@example.com")
	// secretInToken dry-runs a draft that copies the secret into the ID token.
	secretInToken := func() any {
		r := mgmtJSON(t, l, http.MethodPost, "/api/v2/rules/try", mgmt, map[string]any{
			"user_id": kenID, "client_id": clientID,
			"rule": map[string]any{"script": `function (user, context, callback) {
  context.idToken['https://example.com/s'] = configuration.SLACK_TOKEN || null;
  callback(null, user, context);
}`},
		}, http.StatusOK)
		return r["id_token"].(map[string]any)["https://example.com/s"]
	}

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	rcGo(t, b, "/rules-configs")
	b.WaitVisible("#secret-key")
	const first, second = "xoxb-first-secret-value-4242", "xoxb-second-secret-value-9999"
	b.Fill("#secret-key", "SLACK_TOKEN")
	b.Fill("#secret-value", first)
	if typ := b.Exists(`#secret-value[type="password"]`); !typ {
		t.Fatal("the value field is not a password field")
	}
	b.Click("#secret-add-button")
	b.WaitVisible(`#secrets-table tr[data-key="SLACK_TOKEN"]`)
	if pageHolds(b, first) {
		t.Fatal("the secret's value is on the page after saving it")
	}
	if got := secretInToken(); got != first {
		t.Fatalf("configuration.SLACK_TOKEN = %v, want what the page stored", got)
	}
	b.Screenshot("rules-secrets")

	// Replace the value.
	b.Click(`#secrets-table tr[data-key="SLACK_TOKEN"] [data-testid="secret-replace"]`)
	b.WaitVisible(`#secret-replace-SLACK_TOKEN[type="password"]`)
	b.Fill("#secret-replace-SLACK_TOKEN", second)
	b.Click(`#secrets-table tr[data-key="SLACK_TOKEN"] button[type="submit"]`)
	b.WaitNotPresent("#secret-replace-SLACK_TOKEN")
	if pageHolds(b, second) || pageHolds(b, first) {
		t.Fatal("a secret's value is on the page after replacing it")
	}
	if got := secretInToken(); got != second {
		t.Fatalf("after replace, configuration.SLACK_TOKEN = %v", got)
	}

	// Delete, confirmed.
	b.Click(`#secrets-table tr[data-key="SLACK_TOKEN"] [data-testid="secret-delete"]`)
	b.WaitVisible(`dialog[open] [data-testid="confirm-ok"]`)
	b.Click(`dialog[open] [data-testid="confirm-ok"]`)
	b.WaitNotPresent(`#secrets-table tr[data-key="SLACK_TOKEN"]`)
	resp, data := l.Do(t, http.MethodGet, "/api/v2/rules-configs", mgmt, nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(data)) != "[]" {
		t.Fatalf("rules-configs after delete: %d %s", resp.StatusCode, data)
	}

	// Sign out: back to the signed-out screen, nothing of the console left in the tab, and
	// signing in asks for the password again.
	b.Click(`[data-testid="sign-out"]`)
	b.WaitVisible(`[data-testid="sign-in"]`)
	var stored []string
	b.Eval(`Object.keys(sessionStorage)`, &stored)
	if len(stored) != 0 {
		t.Errorf("sessionStorage after sign-out: %v", stored)
	}
	b.Click(`[data-testid="sign-in"]`)
	b.WaitVisible("#password")
	b.AssertNoConsoleErrors()
}

// TestConsoleActions: actions with their status, and a trigger's bindings reordered with the
// keyboard and saved in the new order.
func TestConsoleActions(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	code := func(claim string) string {
		return `exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/` + claim + `', 1); };`
	}
	alpha := mgmtCreateAction(t, l, mgmt, "alpha", "post-login", code("a"))
	beta := mgmtCreateAction(t, l, mgmt, "beta", "post-login", code("b"))
	bindActions(t, l, mgmt, "post-login", alpha, beta)
	// bound reads the post-login flow's action names, in order, through the API.
	bound := func() []string {
		r := mgmtJSON(t, l, http.MethodGet, "/api/v2/actions/triggers/post-login/bindings", mgmt, nil, http.StatusOK)
		var names []string
		for _, b := range r["bindings"].([]any) {
			names = append(names, b.(map[string]any)["action"].(map[string]any)["name"].(string))
		}
		return names
	}

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	rcGo(t, b, "/actions")
	b.WaitVisible("#bindings-post-login li")
	if s := b.Text(`#actions-table tr[data-id=` + jsLiteral(beta) + `] [data-testid="action-status"]`); s != "Deployed" {
		t.Errorf("beta's status = %q", s)
	}
	b.Eval(fmt.Sprintf(`document.querySelector('#bindings-post-login li[data-key=%s]').focus()`, jsLiteral(beta)), nil)
	rcKey(b, kb.ArrowUp, chromedp.ModifierAlt)
	b.WaitFor(`!document.querySelector('#bindings-post-login[aria-busy]') && document.querySelector('#bindings-post-login li').dataset.key === ` + jsLiteral(beta))
	if got := bound(); !slices.Equal(got, []string{"beta", "alpha"}) {
		t.Fatalf("post-login flow after Alt+ArrowUp: %v", got)
	}
	b.Screenshot("actions")

	// The action's code in the editor: a syntax error is shown at its line.
	b.Click(`#actions-table tr[data-id=` + jsLiteral(alpha) + `] a`)
	b.WaitVisible("#action-code")
	rcSetEditor(b, "#action-code", "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('x' 1);\n};")
	b.AssertNoConsoleErrors()
	b.Click("#action-save")
	b.WaitText("#action-error", "line 2")
	b.ClearConsole() // the browser logs the API's 400
	if !b.Exists(`.code-gutter .ln.has-error[data-line="2"]`) {
		t.Error("the action's syntax error is not marked at line 2")
	}
	b.Screenshot("action-editor")
	b.AssertNoConsoleErrors()
}

// TestConsoleRefusesNonAdmin: a user who is not an admin signs in and gets the console's
// refusal with a way to sign in as someone else, and no token.
func TestConsoleRefusesNonAdmin(t *testing.T) {
	l, _ := consoleLatch(t)
	createConsoleUser(t, l, "nina@example.com", "Not-An-Admin-Pass-1", true, nil)
	b := browsertest.New(t)
	b.Navigate(l.URL + "/admin/")
	b.WaitVisible(`[data-testid="sign-in"]`)
	b.Screenshot("signed-out")
	b.Click(`[data-testid="sign-in"]`)
	b.WaitVisible("#username")
	b.Fill("#username", "nina@example.com")
	b.Fill("#password", "Not-An-Admin-Pass-1")
	b.Click("button[type=submit]")
	b.WaitText("#denied-message", "not an administrator")
	b.WaitVisible(`[data-testid="sign-in-other"]`)
	var stored string
	b.Eval(`JSON.stringify(Object.keys(sessionStorage))`, &stored)
	if strings.Contains(stored, "latch.console.session") || b.Exists("#nav") {
		t.Fatalf("a refused user has a console session (%s) or its nav", stored)
	}
	b.Screenshot("not-admin")
	b.AssertNoConsoleErrors()
}

// TestConsoleSessionRenewal: when the API refuses the console's token (here: its signing key
// was revoked), the console signs in again through the SSO session and comes back to the
// editor with the unsaved draft restored, which then saves.
func TestConsoleSessionRenewal(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	b.Click("#create-rule")
	b.WaitVisible("#rule-name")
	b.Fill("#rule-name", "kept-draft")
	const draft = "function (user, context, callback) {\n  // kept across the sign-in\n  callback(null, user, context);\n}"
	rcSetEditor(b, "#rule-script", draft)

	mgmtJSON(t, l, http.MethodPost, "/api/v2/keys/signing/rotate", mgmt, nil, http.StatusCreated)
	resp, data := l.Do(t, http.MethodGet, "/api/v2/keys/signing", mgmt, nil)
	var all []struct {
		KID      string `json:"kid"`
		Previous bool   `json:"previous"`
	}
	mustJSON(t, data, &all)
	revoked := false
	for _, k := range all {
		if k.Previous {
			mgmtJSON(t, l, http.MethodPut, "/api/v2/keys/signing/"+k.KID+"/revoke", mgmt, nil, http.StatusOK)
			revoked = true
		}
	}
	if resp.StatusCode != http.StatusOK || !revoked {
		t.Fatalf("no previous key to revoke: %d %s", resp.StatusCode, data)
	}
	mgmt = l.ManagementToken(t, "")

	b.Click("#rule-save")
	b.WaitVisible("#rule-restored")
	b.WaitFor(`location.hash === '#/rules/new'`)
	b.ClearConsole() // the browser logs the API's 401, which is the point here
	if name, script := b.Value("#rule-name"), b.Value("#rule-script"); name != "kept-draft" || script != draft {
		t.Fatalf("after signing in again: name %q, script %q", name, script)
	}
	b.Click("#rule-save")
	b.WaitText("#rule-status", "Saved")
	if got := rulesByOrder(t, l, mgmt); !slices.Equal(got, []string{"kept-draft"}) {
		t.Fatalf("rules after saving the restored draft: %v", got)
	}
	b.AssertNoConsoleErrors()
}

// TestConsoleViewerReadOnly: a viewer (read scopes only) sees the rules but no control that
// would change them, and no dry run (it needs a rules write scope).
func TestConsoleViewerReadOnly(t *testing.T) {
	l, _ := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	id := createRule(t, l, mgmt, "looked-at", `function (user, context, callback) { callback(null, user, context); }`)
	createConsoleUser(t, l, "vic.viewer@example.com", "Console-Viewer-Pass-2", true, map[string]any{"roles": []any{"viewer"}})

	b := browsertest.New(t)
	consoleSignIn(t, b, l, "vic.viewer@example.com", "Console-Viewer-Pass-2")
	b.WaitVisible("#rules-list li")
	var list struct {
		Create, Move, Delete bool
		SwitchDisabled       bool
	}
	b.Eval(`({
		create: !!document.querySelector('#create-rule'),
		move: !!document.querySelector('#rules-list button[data-move]'),
		delete: !!document.querySelector('#rules-list [data-testid="rule-delete"]'),
		switchDisabled: document.querySelector('#rules-list input[role="switch"]').disabled,
	})`, &list)
	if list.Create || list.Move || list.Delete || !list.SwitchDisabled {
		t.Errorf("a viewer's rules list offers changes: %+v", list)
	}
	b.Navigate(l.URL + "/admin/#/rules/" + id)
	b.WaitVisible("#rule-script")
	var editor struct {
		ReadOnly, SaveDisabled, DryRun, Delete bool
	}
	b.Eval(`({
		readOnly: document.querySelector('#rule-script').readOnly,
		saveDisabled: document.querySelector('#rule-save').disabled,
		dryRun: !!document.querySelector('#dryrun'),
		delete: !!document.querySelector('#rule-delete'),
	})`, &editor)
	if !editor.ReadOnly || !editor.SaveDisabled || editor.DryRun || editor.Delete {
		t.Errorf("a viewer's rule editor: %+v, want read-only, no save, no dry run, no delete", editor)
	}
	b.Screenshot("viewer-rule")
	b.AssertNoConsoleErrors()
}
