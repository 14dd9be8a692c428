package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Actions end to end: created, deployed and bound through the Management API, then run at
// login and at signup.

func postLoginTrigger() []map[string]any {
	return []map[string]any{{"id": "post-login", "version": "v3"}}
}

// mgmtCreateAction creates and deploys an action and returns its id.
func mgmtCreateAction(t *testing.T, l *testLatch, tok, name, trigger, code string) string {
	t.Helper()
	a := mgmtJSON(t, l, http.MethodPost, "/api/v2/actions/actions", tok, map[string]any{
		"name": name, "code": code, "runtime": "node18",
		"supported_triggers": []map[string]any{{"id": trigger}},
	}, http.StatusCreated)
	id, _ := a["id"].(string)
	if !strings.HasPrefix(id, "act_") || a["all_changes_deployed"] != false {
		t.Fatalf("created action: %v", a)
	}
	mgmtJSON(t, l, http.MethodPost, "/api/v2/actions/actions/"+id+"/deploy", tok, nil, http.StatusAccepted)
	return id
}

func bindActions(t *testing.T, l *testLatch, tok, trigger string, ids ...string) map[string]any {
	t.Helper()
	var bindings []map[string]any
	for _, id := range ids {
		bindings = append(bindings, map[string]any{"ref": map[string]any{"type": "action_id", "value": id}})
	}
	if bindings == nil {
		bindings = []map[string]any{}
	}
	return mgmtJSON(t, l, http.MethodPatch, "/api/v2/actions/triggers/"+trigger+"/bindings", tok,
		map[string]any{"bindings": bindings}, http.StatusOK)
}

func TestActionsPostLogin(t *testing.T) {
	l := startLatch(t)
	ctx := context.Background()
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	claims := mgmtCreateAction(t, l, mgmt, "claims", "post-login", `exports.onExecutePostLogin = async (event, api) => {
  const plan = (event.user.user_metadata || {}).plan || 'free';
  api.idToken.setCustomClaim('https://example.com/plan', plan);
  api.accessToken.setCustomClaim('https://example.com/plan', plan);
  api.user.setUserMetadata('last_client', event.client.client_id);
};`)
	deny := mgmtCreateAction(t, l, mgmt, "deny blocked", "post-login", `exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email.endsWith('@blocked.example')) api.access.deny('Blocked domain.');
};`)
	b := bindActions(t, l, mgmt, "post-login", claims, deny)
	if bs, _ := b["bindings"].([]any); len(bs) != 2 {
		t.Fatalf("bindings: %v", b)
	}

	created := signup(t, l, clientID, "jane@example.com", "Correct-Horse-9", map[string]any{"plan": "gold"})
	userID := "auth0|" + created["_id"].(string)
	tr := realmLogin(t, l, clientID, secret, "jane@example.com", "Correct-Horse-9")
	provider, err := oidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	idTok, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, tr.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	var idClaims map[string]any
	_ = idTok.Claims(&idClaims)
	if idClaims[ns+"plan"] != "gold" {
		t.Errorf("ID token claim: %v", idClaims)
	}
	if info := userinfo(t, l, tr.AccessToken); info[ns+"plan"] != "gold" {
		t.Errorf("/userinfo claim: %v", info)
	}
	if at := decodeJWTPayload(t, tr.AccessToken); at[ns+"plan"] != "gold" {
		t.Errorf("access token claim: %v", at)
	}
	u := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+url.PathEscape(userID), mgmt, nil, http.StatusOK)
	if meta, _ := u["user_metadata"].(map[string]any); meta["last_client"] != clientID || meta["plan"] != "gold" {
		t.Errorf("saved metadata: %v", u["user_metadata"])
	}

	signup(t, l, clientID, "eve@blocked.example", "Correct-Horse-9", nil)
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
		"client_id": {clientID}, "client_secret": {secret}, "username": {"eve@blocked.example"}, "password": {"Correct-Horse-9"},
		"scope": {"openid"},
	})
	wantOAuthError(t, resp, body, http.StatusForbidden, "access_denied", "Blocked domain.")

	// Unbound, the action runs no more.
	bindActions(t, l, mgmt, "post-login")
	realmLogin(t, l, clientID, secret, "eve@blocked.example", "Correct-Horse-9")
}

func signupRaw(t *testing.T, l *testLatch, clientID, email string, meta map[string]any) (*http.Response, []byte) {
	t.Helper()
	return l.Do(t, http.MethodPost, "/dbconnections/signup", "", map[string]any{
		"client_id": clientID, "connection": "Username-Password-Authentication",
		"email": email, "password": "Correct-Horse-9", "user_metadata": meta,
	})
}

func TestActionsPreUserRegistration(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)
	gate := mgmtCreateAction(t, l, mgmt, "gate", "pre-user-registration", `exports.onExecutePreUserRegistration = async (event, api) => {
  if (event.user.email.endsWith('@spam.example')) {
    api.access.deny('spam domain', 'Signups from this domain are not allowed.');
    return;
  }
  if (event.user.user_id) throw new Error('the user has an id before it exists');
  if (!event.request.ip || event.request.body.password || event.request.body.email !== event.user.email) {
    throw new Error('event.request: ' + JSON.stringify(event.request));
  }
  api.user.setUserMetadata('source', 'action');
  api.user.setAppMetadata('tier', 'trial');
};`)
	validate := mgmtCreateAction(t, l, mgmt, "validate", "pre-user-registration", `exports.onExecutePreUserRegistration = async (event, api) => {
  if ((event.user.user_metadata || {}).age === 'young') api.validation.error('too_young', 'You must be 18 or older.');
};`)
	bindActions(t, l, mgmt, "pre-user-registration", gate, validate)

	resp, body := signupRaw(t, l, clientID, "bob@spam.example", nil)
	wantSignupError(t, resp, body, "access_denied", "Signups from this domain are not allowed.")
	resp, body = signupRaw(t, l, clientID, "kid@example.com", map[string]any{"age": "young"})
	wantSignupError(t, resp, body, "too_young", "You must be 18 or older.")
	if list := mgmtList(t, l, "/api/v2/users?include_totals=true", mgmt); list["total"] != json.Number("0") {
		t.Fatalf("a denied signup created a user: %v", list)
	}

	created := signup(t, l, clientID, "ann@example.com", "Correct-Horse-9", map[string]any{"color": "teal"})
	if meta, _ := created["user_metadata"].(map[string]any); meta["source"] != "action" || meta["color"] != "teal" {
		t.Errorf("signup response metadata: %v", created)
	}
	u := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+url.PathEscape("auth0|"+created["_id"].(string)), mgmt, nil, http.StatusOK)
	meta, _ := u["user_metadata"].(map[string]any)
	app, _ := u["app_metadata"].(map[string]any)
	if meta["source"] != "action" || meta["color"] != "teal" || app["tier"] != "trial" {
		t.Errorf("stored user: %v", u)
	}

	// An action that fails is a 500 that does not tell the script's message, and no user.
	boom := mgmtCreateAction(t, l, mgmt, "boom", "pre-user-registration", `exports.onExecutePreUserRegistration = async () => {
  throw new Error('secret internals');
};`)
	bindActions(t, l, mgmt, "pre-user-registration", boom)
	resp, body = signupRaw(t, l, clientID, "cid@example.com", nil)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), "secret internals") {
		t.Fatalf("failing action: %d %s", resp.StatusCode, body)
	}
	if list := mgmtList(t, l, "/api/v2/users?include_totals=true", mgmt); list["total"] != json.Number("1") {
		t.Fatalf("a failed signup created a user: %v", list["total"])
	}
}

func wantSignupError(t *testing.T, resp *http.Response, body []byte, code, description string) {
	t.Helper()
	var e map[string]any
	mustJSON(t, body, &e)
	if resp.StatusCode != http.StatusBadRequest || e["name"] != "BadRequestError" || e["code"] != code ||
		e["description"] != description || e["statusCode"] != float64(400) {
		t.Fatalf("signup error: %d %s", resp.StatusCode, body)
	}
}

func TestActionsPostUserRegistration(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)
	id := mgmtCreateAction(t, l, mgmt, "notify", "post-user-registration", `exports.onExecutePostUserRegistration = async (event) => {
  throw new Error('notify failed for ' + event.user.user_id);
};`)
	bindActions(t, l, mgmt, "post-user-registration", id)
	created := signup(t, l, clientID, "pat@example.com", "Correct-Horse-9", nil)
	userID := "auth0|" + created["_id"].(string)
	// The failure is logged, with the user's id: the action saw the created user.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(l.Logs.String(), "notify failed for "+userID) {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failed post-user-registration action:\n%s", l.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMgmtActions(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	const code = `exports.onExecutePostLogin = async (event, api) => {};`
	a := mgmtJSON(t, l, http.MethodPost, "/api/v2/actions/actions", tok, map[string]any{
		"name": "first", "code": code, "supported_triggers": postLoginTrigger(), "secrets": []any{}, "dependencies": []any{},
	}, http.StatusCreated)
	id := a["id"].(string)
	path := "/api/v2/actions/actions/" + id
	if a["runtime"] != "node18" || a["status"] != "built" {
		t.Errorf("created: %v", a)
	}
	if ts, _ := a["supported_triggers"].([]any); len(ts) != 1 || ts[0].(map[string]any)["id"] != "post-login" || ts[0].(map[string]any)["version"] != "v3" {
		t.Errorf("supported_triggers: %v", a["supported_triggers"])
	}
	got := mgmtJSON(t, l, http.MethodGet, path, tok, nil, http.StatusOK)
	if got["name"] != "first" || got["code"] != code {
		t.Errorf("GET: %v", got)
	}
	list := mgmtList(t, l, "/api/v2/actions/actions", tok)
	if list["total"] != json.Number("1") || list["per_page"] != json.Number("50") {
		t.Errorf("list: %v", list)
	}
	if list := mgmtList(t, l, "/api/v2/actions/actions?triggerId=pre-user-registration", tok); list["total"] != json.Number("0") {
		t.Errorf("list by trigger: %v", list)
	}
	patched := mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"name": "renamed"}, http.StatusOK)
	if patched["name"] != "renamed" || patched["code"] != code {
		t.Errorf("PATCH: %v", patched)
	}

	// Binding needs a deployed action that supports the trigger.
	bind := func(trigger string, ref map[string]any) (*http.Response, []byte) {
		return l.Do(t, http.MethodPatch, "/api/v2/actions/triggers/"+trigger+"/bindings", tok,
			map[string]any{"bindings": []any{map[string]any{"ref": ref, "display_name": "shown"}}})
	}
	resp, body := bind("post-login", map[string]any{"type": "action_id", "value": id})
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", "not deployed")
	mgmtJSON(t, l, http.MethodPost, path+"/deploy", tok, nil, http.StatusAccepted)
	if got := mgmtJSON(t, l, http.MethodGet, path, tok, nil, http.StatusOK); got["all_changes_deployed"] != true {
		t.Errorf("after deploy: %v", got)
	}
	resp, body = bind("pre-user-registration", map[string]any{"type": "action_id", "value": id})
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", "does not support")
	resp, body = bind("post-login", map[string]any{"type": "action_name", "value": "missing"})
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", "No action")
	resp, body = bind("post-login", map[string]any{"type": "bogus", "value": id})
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", "ref.type")
	resp, body = bind("credentials-exchange", map[string]any{"type": "action_id", "value": id})
	wantMgmtError(t, resp, body, http.StatusNotFound, "not_found", "")
	resp, body = bind("post-login", map[string]any{"type": "action_name", "value": "renamed"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bind: %d %s", resp.StatusCode, body)
	}
	bl := mgmtList(t, l, "/api/v2/actions/triggers/post-login/bindings", tok)
	bs, _ := bl["bindings"].([]any)
	if len(bs) != 1 {
		t.Fatalf("bindings: %v", bl)
	}
	b := bs[0].(map[string]any)
	if b["trigger_id"] != "post-login" || b["display_name"] != "shown" || !strings.HasPrefix(b["id"].(string), "bnd_") ||
		b["action"].(map[string]any)["id"] != id {
		t.Errorf("binding: %v", b)
	}

	// A bound action keeps its trigger and is deleted only with force.
	resp, body = l.Do(t, http.MethodPatch, path, tok, map[string]any{"supported_triggers": []any{map[string]any{"id": "post-user-registration"}}})
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", "bound to post-login")
	resp, body = l.Do(t, http.MethodDelete, path, tok, nil)
	wantMgmtError(t, resp, body, http.StatusConflict, "conflict", "force")
	if resp, body := l.Do(t, http.MethodDelete, path+"?force=true", tok, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("force delete: %d %s", resp.StatusCode, body)
	}
	resp, body = l.Do(t, http.MethodGet, path, tok, nil)
	wantMgmtError(t, resp, body, http.StatusNotFound, "not_found", "")
	if bl := mgmtList(t, l, "/api/v2/actions/triggers/post-login/bindings", tok); bl["total"] != json.Number("0") {
		t.Errorf("bindings after delete: %v", bl)
	}
}

func TestMgmtActionRefusals(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	const code = `exports.onExecutePostLogin = async (event, api) => {};`
	mgmtJSON(t, l, http.MethodPost, "/api/v2/actions/actions", tok, map[string]any{
		"name": "taken", "code": code, "supported_triggers": postLoginTrigger(),
	}, http.StatusCreated)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
		msg    string
	}{
		{"no name", map[string]any{"code": code, "supported_triggers": postLoginTrigger()}, 400, "invalid_body", "Missing required property: name"},
		{"no code", map[string]any{"name": "x", "supported_triggers": postLoginTrigger()}, 400, "invalid_body", "Missing required property: code"},
		{"no triggers", map[string]any{"name": "x", "code": code}, 400, "invalid_body", "supported_triggers"},
		{"empty triggers", map[string]any{"name": "x", "code": code, "supported_triggers": []any{}}, 400, "invalid_body", "minimum 1"},
		{"unknown trigger", map[string]any{"name": "x", "code": code, "supported_triggers": []any{map[string]any{"id": "send-phone-message"}}}, 400, "invalid_body", "send-phone-message"},
		{"old version", map[string]any{"name": "x", "code": code, "supported_triggers": []any{map[string]any{"id": "post-login", "version": "v1"}}}, 400, "invalid_body", "v3"},
		{"trigger not an object", map[string]any{"name": "x", "code": code, "supported_triggers": []any{"post-login"}}, 400, "invalid_body", "supported_triggers[0]"},
		{"syntax error", map[string]any{"name": "x", "code": "exports.onExecutePostLogin = async (", "supported_triggers": postLoginTrigger()}, 400, "invalid_body", "Syntax error"},
		{"runtime", map[string]any{"name": "x", "code": code, "runtime": "node12", "supported_triggers": postLoginTrigger()}, 400, "invalid_body", "node18"},
		{"secrets", map[string]any{"name": "x", "code": code, "supported_triggers": postLoginTrigger(), "secrets": []any{map[string]any{"name": "K", "value": "v"}}}, 400, "invalid_body", "secrets"},
		{"dependencies", map[string]any{"name": "x", "code": code, "supported_triggers": postLoginTrigger(), "dependencies": []any{map[string]any{"name": "lodash", "version": "4"}}}, 400, "invalid_body", "dependencies"},
		{"extra property", map[string]any{"name": "x", "code": code, "supported_triggers": postLoginTrigger(), "deployed": true}, 400, "invalid_body", "Additional properties"},
		{"name not a string", map[string]any{"name": 5, "code": code, "supported_triggers": postLoginTrigger()}, 400, "invalid_body", "Expected type string"},
		{"name taken", map[string]any{"name": "taken", "code": code, "supported_triggers": postLoginTrigger()}, 409, "conflict", "same name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPost, "/api/v2/actions/actions", tok, tc.body)
			wantMgmtError(t, resp, body, tc.status, tc.code, tc.msg)
		})
	}
	if list := mgmtList(t, l, "/api/v2/actions/actions", tok); list["total"] != json.Number("1") {
		t.Errorf("actions after refusals: %v", list["total"])
	}
	for _, body := range []map[string]any{
		{},
		{"bindings": "x"},
		{"bindings": []any{"x"}},
		{"bindings": []any{map[string]any{"display_name": "no ref"}}},
		{"bindings": []any{}, "extra": 1},
	} {
		resp, out := l.Do(t, http.MethodPatch, "/api/v2/actions/triggers/post-login/bindings", tok, body)
		wantMgmtError(t, resp, out, http.StatusBadRequest, "invalid_body", "")
	}
	resp, body := l.Do(t, http.MethodPatch, "/api/v2/actions/actions/act_missing", tok, map[string]any{"name": "y"})
	wantMgmtError(t, resp, body, http.StatusNotFound, "not_found", "")
	resp, body = l.Do(t, http.MethodPost, "/api/v2/actions/actions/act_missing/deploy", tok, nil)
	wantMgmtError(t, resp, body, http.StatusNotFound, "not_found", "")
	resp, body = l.Do(t, http.MethodDelete, "/api/v2/actions/actions/act_missing", tok, nil)
	wantMgmtError(t, resp, body, http.StatusNotFound, "not_found", "")
}

func actionEndpoints(id string) []mgmtEndpoint {
	p := "/api/v2/actions/actions/" + id
	return []mgmtEndpoint{
		{http.MethodGet, "/api/v2/actions/actions", []string{"read:actions"}, nil},
		{http.MethodPost, "/api/v2/actions/actions", []string{"create:actions"}, map[string]any{"name": "auth", "code": "exports.onExecutePostLogin = async () => {};", "supported_triggers": postLoginTrigger()}},
		{http.MethodGet, p, []string{"read:actions"}, nil},
		{http.MethodPatch, p, []string{"update:actions"}, map[string]any{"name": "renamed"}},
		{http.MethodPost, p + "/deploy", []string{"create:actions"}, nil},
		{http.MethodGet, "/api/v2/actions/triggers/post-login/bindings", []string{"read:actions"}, nil},
		{http.MethodPatch, "/api/v2/actions/triggers/post-login/bindings", []string{"update:actions"}, map[string]any{"bindings": []any{}}},
		{http.MethodDelete, p, []string{"delete:actions"}, nil},
	}
}

func TestMgmtActionEndpointsAuth(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	a := mgmtJSON(t, l, http.MethodPost, "/api/v2/actions/actions", tok, map[string]any{
		"name": "a", "code": "exports.onExecutePostLogin = async () => {};", "supported_triggers": postLoginTrigger(),
	}, http.StatusCreated)
	checkEndpointsAuth(t, l, actionEndpoints(a["id"].(string)))
}

func TestMgmtActionEndpointsBadBodies(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	a := mgmtJSON(t, l, http.MethodPost, "/api/v2/actions/actions", tok, map[string]any{
		"name": "a", "code": "exports.onExecutePostLogin = async () => {};", "supported_triggers": postLoginTrigger(),
	}, http.StatusCreated)
	checkBadBodies(t, l, tok, []mgmtEndpoint{
		{method: http.MethodPost, path: "/api/v2/actions/actions"},
		{method: http.MethodPatch, path: "/api/v2/actions/actions/" + a["id"].(string)},
		{method: http.MethodPatch, path: "/api/v2/actions/triggers/post-login/bindings"},
	})
}
