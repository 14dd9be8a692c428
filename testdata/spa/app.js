// The test SPA of latch's browser tests: a real app on Auth0's SDK @auth0/auth0-spa-js (the
// browser bundle, global `auth0`), with no build step. browsertest.ServeSPA serves it with
// /config.js, which sets window.LATCH_SPA_CONFIG = {auth0: <the options of createAuth0Client>,
// sdkVersion}.
//
// Hooks for the tests (each also writes its result into the page):
//   window.sdkLoaded      true when the SDK bundle loaded (auth0.createAuth0Client is a function)
//   window.sdkVersion     the SDK's version in node_modules
//   window.spaReady       a promise that settles when start-up is over (it never rejects)
//   window.spaState       the text of #status: loading | callback | ready | authenticated |
//                         redirecting | error
//   login(params)         loginWithRedirect({authorizationParams: params}), e.g. {screen_hint: 'signup'}
//   claims()              getIdTokenClaims() -> object or null (written to #claims)
//   user()                getUser() -> object or null (written to #user)
//   silent(params)        getTokenSilently({cacheMode: 'off', detailedResponse: true}) ->
//                         {ok: true, access_token, id_token, expires_in, scope} or
//                         {ok: false, error, error_description} (written to #token / #error)
//   isAuthenticated()     the SDK's isAuthenticated()
//   logout(opts)          logout, back to opts.returnTo (default: this app's "/"); opts.local: true
//                         clears the SDK's session without leaving the page
// On load, a URL with ?code=&state= (or ?error=&state=) is handed to handleRedirectCallback.
// Every error is written to #error as {action, error, error_description} and kept in
// window.lastError; failures of start-up and of the callback also set #status to "error".
// Nothing is swallowed.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var cfg = window.LATCH_SPA_CONFIG;
  var client = null;

  window.sdkLoaded = typeof window.auth0 === 'object' && window.auth0 !== null &&
    typeof window.auth0.createAuth0Client === 'function';
  // The version of the SDK in node_modules (from its package.json, by ServeSPA).
  window.sdkVersion = cfg ? cfg.sdkVersion : undefined;
  window.lastError = null;

  function setStatus(s) {
    window.spaState = s;
    $('status').textContent = s;
  }

  function show(id, value) {
    $(id).textContent = value == null ? '' : JSON.stringify(value, null, 2);
  }

  function setAction(text) {
    $('action').textContent = text;
  }

  function clearError() {
    window.lastError = null;
    $('error').textContent = '';
  }

  // describe turns whatever was thrown into {error, error_description}: the SDK's errors carry the
  // OAuth `error` and `error_description` of the server; others are plain Errors.
  function describe(err) {
    if (err == null) {
      return { error: 'unknown', error_description: String(err) };
    }
    return {
      error: String(err.error || err.name || 'Error'),
      error_description: String(err.error_description || err.message || err)
    };
  }

  function fail(action, err) {
    var d = describe(err);
    d.action = action;
    window.lastError = d;
    show('error', d);
    setAction(action + ': error');
    // A warning, not an error: a test that expects a failure (login_required, say) still has a
    // clean console, and the failure is in #error for every test to see.
    console.warn('[latch test SPA] ' + action + ' failed: ' + d.error + ': ' + d.error_description);
    return d;
  }

  function needClient() {
    if (!client) {
      throw new Error('the SDK client is not ready (status: ' + window.spaState + ')');
    }
  }

  // refresh shows what the SDK knows now: authenticated or not, the ID token's claims, the user.
  async function refresh() {
    var authed = await client.isAuthenticated();
    $('authenticated').textContent = String(authed);
    if (authed) {
      show('claims', await client.getIdTokenClaims());
      show('user', await client.getUser());
    } else {
      show('claims', null);
      show('user', null);
    }
    setStatus(authed ? 'authenticated' : 'ready');
    return authed;
  }

  function cleanURL() {
    history.replaceState(null, document.title, location.pathname);
  }

  async function start() {
    setStatus('loading');
    try {
      if (!window.sdkLoaded) {
        throw new Error('the auth0-spa-js bundle did not load: window.auth0.createAuth0Client is missing');
      }
      if (!cfg || !cfg.auth0) {
        throw new Error('window.LATCH_SPA_CONFIG is missing: /config.js did not load, or the SPA is not configured yet');
      }
      $('domain').textContent = cfg.auth0.domain;
      $('sdk').textContent = cfg.sdkVersion || '?';
      client = await window.auth0.createAuth0Client(cfg.auth0);
      window.auth0Client = client;
    } catch (e) {
      fail('init', e);
      setStatus('error');
      return;
    }

    var q = new URLSearchParams(location.search);
    if (q.has('state') && (q.has('code') || q.has('error'))) {
      setStatus('callback');
      try {
        window.callbackResult = await client.handleRedirectCallback();
        setAction('callback: ok');
      } catch (e) {
        cleanURL();
        fail('callback', e);
        setStatus('error');
        return;
      }
      cleanURL();
    }

    try {
      await refresh();
    } catch (e) {
      fail('refresh', e);
      setStatus('error');
    }
  }

  window.login = async function (params) {
    await window.spaReady;
    clearError();
    try {
      needClient();
      setStatus('redirecting');
      setAction('login');
      await client.loginWithRedirect({ authorizationParams: Object.assign({}, params || {}) });
    } catch (e) {
      setStatus('error');
      return fail('login', e);
    }
  };

  window.claims = async function () {
    await window.spaReady;
    clearError();
    try {
      needClient();
      var c = await client.getIdTokenClaims();
      show('claims', c);
      setAction('claims: ok');
      return c === undefined ? null : c;
    } catch (e) {
      fail('claims', e);
      return null;
    }
  };

  window.user = async function () {
    await window.spaReady;
    clearError();
    try {
      needClient();
      var u = await client.getUser();
      show('user', u);
      setAction('user: ok');
      return u === undefined ? null : u;
    } catch (e) {
      fail('user', e);
      return null;
    }
  };

  window.silent = async function (params) {
    await window.spaReady;
    clearError();
    show('token', null);
    try {
      needClient();
      var opts = { cacheMode: 'off', detailedResponse: true };
      if (params) {
        opts.authorizationParams = params;
      }
      var r = await client.getTokenSilently(opts);
      var out = {
        ok: true,
        access_token: r.access_token,
        id_token: r.id_token,
        expires_in: r.expires_in,
        scope: r.scope
      };
      show('token', out);
      setAction('silent: ok');
      await refresh();
      return out;
    } catch (e) {
      var d = fail('silent', e);
      return { ok: false, error: d.error, error_description: d.error_description };
    }
  };

  window.isAuthenticated = async function () {
    await window.spaReady;
    needClient();
    return client.isAuthenticated();
  };

  window.logout = async function (opts) {
    await window.spaReady;
    clearError();
    opts = opts || {};
    try {
      needClient();
      var logoutParams = { returnTo: opts.returnTo || location.origin + '/' };
      if (opts.federated) {
        logoutParams.federated = true;
      }
      var o = { logoutParams: logoutParams };
      if (opts.local) {
        o.openUrl = false;
      } else {
        setStatus('redirecting');
      }
      setAction('logout');
      await client.logout(o);
      if (opts.local) {
        await refresh();
        setAction('logout: ok');
      }
    } catch (e) {
      setStatus('error');
      return fail('logout', e);
    }
  };

  function wire(id, fn) {
    $(id).addEventListener('click', function () { fn(); });
  }
  wire('login-btn', function () { return window.login(); });
  wire('signup-btn', function () { return window.login({ screen_hint: 'signup' }); });
  wire('claims-btn', window.claims);
  wire('user-btn', window.user);
  wire('silent-btn', function () { return window.silent(); });
  wire('logout-btn', function () { return window.logout(); });

  window.spaReady = start();
})();
