package rules

import (
	"errors"
	"testing"
)

func TestCheckAccepts(t *testing.T) {
	cases := []struct{ kind, src string }{
		{KindRule, `function (user, context, callback) { callback(null, user, context); }`},
		{KindRule, `function named(user, context, callback) { callback(null, user, context); }`},
		{KindRule, `async function (user, context, callback) { callback(null, user, context); }`},
		{KindRule, `(user, context, callback) => callback(null, user, context)`},
		{KindRule, "// leading comment\n/* block */\nfunction r(user, context, callback) {\n  callback(null, user, context);\n};;\n// trailing\n"},
		{KindRule, `function (user, context, callback) {
  const _ = require('lodash@4.17.19');
  const { URL, URLSearchParams } = require('url');
  const request = require('request');
  const crypto = require('crypto');
  _.get(user, 'a.b'); crypto.createHash('sha256'); request.post({}, function () {});
  callback(null, user, context);
}`},
		{KindAction, `exports.onExecutePostLogin = async (event, api) => {};`},
		{KindAction, `const axios = require('axios');
const KEY = 'x';
async function handler(event, api) { await axios.get('https://example.com'); }
exports.onExecutePostLogin = handler;`},
		{KindAction, `module.exports.onExecutePreUserRegistration = async function (event, api) {};`},
		{KindAction, `exports['onExecutePostUserRegistration'] = async (event) => {};`},
		{KindAction, `const onExecutePostLogin = async () => {}; module.exports = { onExecutePostLogin };`},
		{KindAction, `module.exports = { onExecutePostLogin: async () => {} };`},
		// A parameter shadowing a module is not taken for the module.
		{KindRule, `function (user, context, callback) {
  const url = require('url');
  function host(url) { return url.host; }
  const crypto = require('crypto');
  try { crypto.createHash('md5'); } catch (crypto) { crypto.anything; }
  callback(null, user, context);
}`},
	}
	for _, tc := range cases {
		if err := Check(tc.kind, tc.src); err != nil {
			t.Errorf("Check(%s, %q) = %v", tc.kind, tc.src, err)
		}
	}
}

func TestCheckSyntaxErrors(t *testing.T) {
	cases := []struct {
		kind, src string
		line, col int
	}{
		{KindRule, "function (user, context, callback) {\n  var x = ;\n}", 2, 11},
		{KindRule, "function (user, context, callback) { var = 1; }", 1, 42},
		{KindRule, "function (user, context, callback) {\n  callback(null, user, context);\n", 3, 1},
		{KindRule, "function (user, context, callback) {\n  let a = 1;\n  let a = 2;\n}", 3, 7},
		{KindAction, "exports.onExecutePostLogin = async (event, api) => {\n  api.x(;\n};", 2, 9},
		{KindAction, "exports.onExecutePostLogin = async (event api) => {};", 1, 43},
	}
	for _, tc := range cases {
		err := Check(tc.kind, tc.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Check(%q) = %v, want a *SyntaxError", tc.src, err)
			continue
		}
		if se.Line != tc.line || se.Column != tc.col {
			t.Errorf("Check(%q) = line %d column %d (%s), want %d:%d", tc.src, se.Line, se.Column, se.Message, tc.line, tc.col)
		}
	}
}

func TestCheckShape(t *testing.T) {
	cases := []struct{ kind, src string }{
		{KindRule, `function a(user, context, callback) {}
function b(user, context, callback) {}`},
		{KindRule, `function (user, context, callback) {}; doSomethingElse();`},
		{KindRule, `1 + 1`},
		{KindRule, ``},
		{KindRule, `exports.onExecutePostLogin = async (event, api) => {};`},
		{KindRule, `function* (user, context, callback) {}`},
		{KindAction, `function (user, context, callback) { callback(null, user, context); }`},
		{KindAction, `exports.somethingElse = async () => {};`},
		{KindAction, `});
exports.onExecutePostLogin = async () => {};
(function () {`},
		{KindAction, `}, function (exports, require, module) { exports.onExecutePostLogin = 1;`},
	}
	for _, tc := range cases {
		err := Check(tc.kind, tc.src)
		var shape *ShapeError
		var syntax *SyntaxError
		if !errors.As(err, &shape) && !errors.As(err, &syntax) {
			t.Errorf("Check(%s, %q) = %v, want a shape or syntax error", tc.kind, tc.src, err)
		}
	}
}

func TestCheckModules(t *testing.T) {
	cases := []struct {
		src, msg string
	}{
		{`function (u, c, cb) { require('mongodb'); }`, "module mongodb is not available"},
		{`function (u, c, cb) { require('mongodb@3.1.4'); }`, "module mongodb is not available"},
		{`function (u, c, cb) { require('@auth0/rule-utilities@0.2.0'); }`, "module @auth0/rule-utilities is not available"},
		{`function (u, c, cb) { const _ = require('lodash'); _.chain([1]).value(); }`, "lodash.chain is not available (latch provides a subset of lodash; see docs/rules.md)"},
		{`function (u, c, cb) { require('lodash').chain([1]); }`, "lodash.chain is not available (latch provides a subset of lodash; see docs/rules.md)"},
		{`function (u, c, cb) { const { createCipheriv } = require('crypto'); }`, "crypto.createCipheriv is not available (latch provides a subset of crypto; see docs/rules.md)"},
		{`function (u, c, cb) { var q = require('querystring'); q.parse(''); var crypto = require('crypto'); crypto.pbkdf2Sync(); }`, "crypto.pbkdf2Sync is not available (latch provides a subset of crypto; see docs/rules.md)"},
	}
	for _, tc := range cases {
		err := Check(KindRule, tc.src)
		var me *ModuleError
		if !errors.As(err, &me) || err.Error() != tc.msg {
			t.Errorf("Check(%q) = %v, want %q", tc.src, err, tc.msg)
		}
	}
	err := Check(KindRule, "function (u, c, cb) {\n  var db = require('mongodb');\n}")
	var me *ModuleError
	if !errors.As(err, &me) || me.Line != 2 || me.Column != 12 {
		t.Errorf("position = %+v", err)
	}
}

func TestCheckUnknownKind(t *testing.T) {
	if err := Check("hook", `function () {}`); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func TestRunRefusesUnknownTriggerAndKind(t *testing.T) {
	e := newTestEngine(t)
	req := rulesRequest(`function (u, c, cb) { cb(null, u, c); }`)
	req.Trigger = "pre-authorize"
	if _, err := e.Run(t.Context(), req); err == nil {
		t.Error("unknown trigger accepted")
	}
	req = rulesRequest()
	req.Scripts = []Script{{ID: "x", Kind: "hook", Source: "function () {}"}}
	if _, err := e.Run(t.Context(), req); err == nil {
		t.Error("unknown kind accepted")
	}
}
