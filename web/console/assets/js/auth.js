// auth.js: the admin's sign-in, through latch itself: authorization code with PKCE (S256)
// and the built-in public client of config.json. The access token lives in sessionStorage
// (this tab only, gone with it) together with its expiry; when it runs out, or the API says
// 401, the console signs in again, which the SSO session makes a quick round trip.
//
// For development against a static server, a session may be injected by hand into
// sessionStorage under SESSION_KEY ({accessToken, expiresAt, scopes, user}); never through a
// URL.

const SESSION_KEY = 'latch.console.session';
const PENDING_KEY = 'latch.console.pkce';

let config = null;
let current = null;

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(n = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

/** jwtPayload reads a JWT's claims without checking it: the token came straight from the
 * token endpoint over this origin's connection, and the console only displays them. */
function jwtPayload(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

function readJSON(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

/** basePath is where the console lives ("/admin/"), from its redirect URI. */
export function basePath() {
  if (!config) return '/admin/';
  return new URL(config.redirect_uri, location.href).pathname.replace(/callback$/, '');
}

function currentRoute() {
  const r = location.hash.replace(/^#/, '');
  return r.startsWith('/') ? r : '/';
}

/**
 * start reads the sign-in state of this tab: it finishes a sign-in when the page is the
 * callback, and otherwise looks for a live session. It resolves to {status} where status is
 * 'signed-in', 'signed-out', 'denied' (with message: latch refused this user) or 'error'
 * (with message), or never resolves when it has left the page to sign in again.
 */
export async function start(cfg) {
  config = cfg;
  const path = location.pathname;
  if (path.endsWith('/callback')) return finishSignIn();
  const s = readJSON(SESSION_KEY);
  if (s && s.accessToken && s.expiresAt > Date.now() + 5000) {
    current = s;
    return { status: 'signed-in' };
  }
  if (s) {
    // The session ran out while the tab was away: sign in again to where the admin was.
    sessionStorage.removeItem(SESSION_KEY);
    await signIn(currentRoute());
    return new Promise(() => {});
  }
  return { status: 'signed-out' };
}

async function finishSignIn() {
  const params = new URLSearchParams(location.search);
  const pending = readJSON(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const leave = (route) => history.replaceState(null, '', `${basePath()}#${route}`);
  if (params.get('error')) {
    leave('/');
    const status = params.get('error') === 'access_denied' ? 'denied' : 'error';
    return { status, message: params.get('error_description') || params.get('error') };
  }
  if (!pending || !params.get('state') || params.get('state') !== pending.state) {
    leave('/');
    return { status: 'error', message: 'This sign-in answer does not belong to a sign-in started in this tab. Sign in again.' };
  }
  const form = new URLSearchParams({
    grant_type: 'authorization_code', client_id: config.client_id, code: params.get('code') || '',
    redirect_uri: config.redirect_uri, code_verifier: pending.verifier,
  });
  let tok;
  try {
    const resp = await fetch(new URL('/oauth/token', location.origin), {
      method: 'POST', body: form, credentials: 'omit', cache: 'no-store',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    });
    tok = await resp.json();
    if (!resp.ok) {
      leave('/');
      const status = tok.error === 'access_denied' || tok.error === 'unauthorized' ? 'denied' : 'error';
      return { status, message: tok.error_description || tok.error || `HTTP ${resp.status}` };
    }
  } catch (e) {
    leave('/');
    return { status: 'error', message: `Signing in failed: ${e.message}` };
  }
  const id = jwtPayload(tok.id_token || '') || {};
  const aud = Array.isArray(id.aud) ? id.aud : [id.aud];
  if (id.nonce !== pending.nonce || !aud.includes(config.client_id)) {
    leave('/');
    return { status: 'error', message: 'The ID token does not match this sign-in. Sign in again.' };
  }
  let scope = tok.scope;
  if (typeof scope !== 'string') {
    const at = jwtPayload(tok.access_token) || {};
    scope = typeof at.scope === 'string' ? at.scope : (at.permissions || []).join(' ');
  }
  current = {
    accessToken: tok.access_token,
    expiresAt: Date.now() + (Number(tok.expires_in) || 0) * 1000,
    scopes: scope.split(' ').filter(Boolean),
    user: { sub: id.sub, email: id.email || '', name: id.name || '' },
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(current));
  leave(pending.returnTo || '/');
  return { status: 'signed-in' };
}

/** signIn leaves for latch's /authorize; after the callback the console opens returnTo. */
export async function signIn(returnTo = currentRoute()) {
  const verifier = randomString(48);
  const pending = { state: randomString(), nonce: randomString(), verifier, returnTo };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const q = new URLSearchParams({
    response_type: 'code', client_id: config.client_id, redirect_uri: config.redirect_uri,
    scope: config.scope, audience: config.audience, state: pending.state, nonce: pending.nonce,
    code_challenge: await challengeOf(verifier), code_challenge_method: 'S256',
  });
  // max_age makes latch ask for the password again once the console's session timeout has
  // passed, even while the SSO session lives on.
  if (config.max_age) q.set('max_age', String(config.max_age));
  leavePage();
  location.assign(`${new URL('authorize', config.issuer)}?${q}`);
}

// leavePage lets screens keep unsaved work (window.latchConsole.beforeSignIn) and keeps the
// unsaved-changes warning of beforeunload out of a deliberate departure.
function leavePage() {
  const lc = window.latchConsole;
  if (!lc) return;
  if (typeof lc.beforeSignIn === 'function') {
    try { lc.beforeSignIn(); } catch { /* keeping a draft is best effort */ }
  }
  lc.leaving = true;
}

/** session is the signed-in admin: {accessToken, scopes, user: {sub, email, name}}, or null. */
export function session() {
  if (!current) return null;
  return { accessToken: current.accessToken, scopes: [...current.scopes], user: { ...current.user }, expiresAt: current.expiresAt };
}

/** hasScope says whether the admin's token holds the Management API scope s. */
export function hasScope(s) {
  return !!current && current.scopes.includes(s);
}

/** accessToken is the bearer token while it is valid, else null. */
export function accessToken() {
  if (!current || current.expiresAt <= Date.now()) return null;
  return current.accessToken;
}

/** expireSession forgets a token that ran out (or that the API refused) and signs in again. */
export function expireSession() {
  if (!current) return;
  current = null;
  sessionStorage.removeItem(SESSION_KEY);
  signIn(currentRoute());
}

/** signOut forgets the session and ends latch's SSO session through its logout endpoint. */
export function signOut() {
  current = null;
  // Everything the console kept in this tab goes: the token, and any unsaved draft.
  for (const k of Object.keys(sessionStorage)) {
    if (k.startsWith('latch.console.')) sessionStorage.removeItem(k);
  }
  if (window.latchConsole) window.latchConsole.leaving = true;
  location.assign(config ? config.logout_url : '/');
}
