package rules

import (
	"fmt"
	"sync"
	"testing"
)

// Nothing a login does to its realm is visible to the next one, except `global` values.
func TestIsolationBetweenRuns(t *testing.T) {
	e := newTestEngine(t)
	polluter := rulesRequest(`function (user, context, callback) {
  Object.prototype.polluted = 'yes';
  Array.prototype.first = function () { return 'hijacked'; };
  String.prototype.toUpperCase = function () { return 'hijacked'; };
  JSON.parse = function () { return 'hijacked'; };
  Promise.prototype.then = function () { throw new Error('hijacked'); };
  globalThis.leaked = 'yes';
  implicitGlobal = 'yes';
  console.log = function () {};
  require('lodash').get = function () { return 'hijacked'; };
  callback(null, user, context);
}`)
	if resp := runReq(t, e, polluter); resp.Outcome != OutcomeOK {
		t.Fatalf("polluter: %+v", resp.Error)
	}
	checker := rulesRequest(`function (user, context, callback) {
  context.idToken.seen = [
    ({}).polluted, typeof [].first, 'a'.toUpperCase(), JSON.parse('1'), typeof leaked,
    typeof implicitGlobal, require('lodash').get({ a: 1 }, 'a'),
  ];
  console.log('console works');
  Promise.resolve().then(function () { callback(null, user, context); });
}`)
	resp := runReq(t, e, checker)
	expect{idClaims: `{"seen":[null,"undefined","A",1,"undefined","undefined",1]}`, console: []string{"console works"}}.check(t, resp)
}

func TestGlobalKeepsJSONValues(t *testing.T) {
	e := newTestEngine(t)
	rule := func(src string) Request {
		return rulesRequest(`function (user, context, callback) {` + src + `
  callback(null, user, context);
}`)
	}
	resp := runReq(t, e, rule(`
  global.counter = (global.counter || 0) + 1;
  global.logger = function () {};
  global.cache = { token: 'a', expires: 5 };
  global.when = new Date(0);
  global.gone = 'soon';
  implicitValue = 1;`))
	expect{}.check(t, resp)

	resp = runReq(t, e, rule(`
  context.idToken.g = [counter, global.counter, typeof global.logger, JSON.parse(JSON.stringify(global.cache)), global.when, typeof implicitValue, global.gone];
  global.counter++;
  global.cache.token = 'b';
  delete global.gone;`))
	expect{idClaims: `{"g":[1,1,"undefined",{"token":"a","expires":5},"1970-01-01T00:00:00.000Z","undefined","soon"]}`}.check(t, resp)

	resp = runReq(t, e, rule(`context.idToken.g = [global.counter, global.cache.token, typeof global.gone, typeof gone];`))
	expect{idClaims: `{"g":[2,"b","undefined","undefined"]}`}.check(t, resp)

	// A run that does not touch global leaves it as it was.
	runReq(t, e, rule(``))
	resp = runReq(t, e, rule(`context.idToken.g = global.counter;`))
	expect{idClaims: `{"g":2}`}.check(t, resp)

	// Each engine has its own.
	resp = runReq(t, newTestEngine(t), rule(`context.idToken.g = typeof global.counter;`))
	expect{idClaims: `{"g":"undefined"}`}.check(t, resp)
}

func TestConcurrentRuns(t *testing.T) {
	e := newTestEngine(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				req := rulesRequest(fmt.Sprintf(`function (user, context, callback) {
  global.k%d = (global.k%d || 0) + 1;
  auth0.users.updateUserMetadata(user.user_id, { n: %d }).then(function () {
    setTimeout(function () { context.idToken.n = %d; callback(null, user, context); }, 1);
  });
}`, g, g, i, i))
				req.Scripts = append(req.Scripts, benchRequest().Scripts...)
				resp, err := e.Run(t.Context(), req)
				if err != nil || resp.Outcome != OutcomeOK || fmt.Sprint(resp.IDTokenClaims["n"]) != fmt.Sprint(i) {
					errs <- fmt.Errorf("run %d/%d: %v %+v %v", g, i, err, resp.Error, resp.IDTokenClaims)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	resp := runReq(t, e, rulesRequest(`function (user, context, callback) {
  context.idToken.k = [global.k0, global.k7];
  callback(null, user, context);
}`))
	expect{idClaims: `{"k":[10,10]}`}.check(t, resp)
}
