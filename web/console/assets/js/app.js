// app.js: the console's boot. It loads config.json, settles the sign-in (auth.js), builds the
// header and nav from the screens' routes, and runs the hash router: #/path/:param?query.
// On each navigation the previous screen's cleanup runs, focus moves to <main> and the
// document title follows the screen. A screen with unsaved work sets
// window.latchConsole.guard to a function returning a message; leaving then asks first.

import { start, session, signIn, signOut, hasScope, expireSession } from './auth.js';
import { screens } from './screens/index.js';
import { h, confirmDialog, errorBox } from './ui.js';

const APP = 'latch admin';

const lc = {
  guard: null,
  beforeSignIn: null,
  leaving: false,
  config: null,
  navigate(path) { location.hash = `#${path}`; },
  // replace changes the address of the screen on show without rendering it again (a new
  // rule that got its id on save).
  replace(path) {
    shownRaw = path;
    history.replaceState(null, '', `#${path}`);
    markNav(path.split('?')[0]);
  },
};
window.latchConsole = lc;

const main = document.getElementById('main');
const header = document.querySelector('header.top');

/** compile turns '/rules/:id' into a matcher. */
function compile(route) {
  const names = [];
  const re = route.path.split('/').map((seg) => {
    if (seg.startsWith(':')) {
      names.push(seg.slice(1));
      return '([^/]+)';
    }
    return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('/');
  return { ...route, re: new RegExp(`^${re}/?$`), names };
}

const routes = screens.flatMap((s) => s.routes || []).map(compile);

function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const [path, qs = ''] = raw.split('?');
  return { raw, path: path || '/', query: Object.fromEntries(new URLSearchParams(qs)) };
}

function allowed(route) {
  return !route.scope || hasScope(route.scope);
}

function match(path) {
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    r.names.forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(m[i + 1]);
      } catch {
        params[n] = m[i + 1];
      }
    });
    return { route: r, params };
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Header and nav

function buildHeader() {
  const s = session();
  const navList = h('ul', {});
  for (const r of routes.filter((x) => x.nav)) {
    const a = h('a', { href: `#${r.path}`, 'data-nav': r.path }, r.nav);
    if (!allowed(r)) {
      a.setAttribute('aria-disabled', 'true');
      a.title = `Needs the ${r.scope} permission`;
    }
    navList.appendChild(h('li', {}, a));
  }
  const nav = h('nav', { id: 'nav', 'aria-label': 'Main' }, navList);
  const menu = h('button', {
    type: 'button', class: 'button menu-button', 'aria-expanded': 'false', 'aria-controls': 'nav', id: 'menu-button',
    onclick: () => setMenu(menu.getAttribute('aria-expanded') !== 'true'),
  }, 'Menu');
  const account = h('div', { class: 'account' },
    h('span', { id: 'signed-in-as', 'data-testid': 'signed-in-user', title: s.user.name || s.user.email }, s.user.email || s.user.name || s.user.sub),
    h('button', { type: 'button', class: 'button', id: 'sign-out', 'data-testid': 'sign-out', onclick: onSignOut }, 'Sign out'));
  header.replaceChildren(h('a', { class: 'brand', href: '#/' }, APP), menu, nav, account);
  nav.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && menu.getAttribute('aria-expanded') === 'true') {
      setMenu(false);
      menu.focus();
    }
  });
}

function setMenu(open) {
  const menu = document.getElementById('menu-button');
  if (!menu) return;
  menu.setAttribute('aria-expanded', String(open));
  header.classList.toggle('menu-open', open);
}

function markNav(path) {
  for (const a of header.querySelectorAll('a[data-nav]')) {
    const p = a.getAttribute('data-nav');
    if (path === p || path.startsWith(`${p}/`)) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
}

async function onSignOut() {
  if (!(await mayLeave())) return;
  signOut();
}

// ---------------------------------------------------------------------------------------
// Router

let cleanup = null;
let renderSeq = 0;
let shownRaw = null; // the hash of the screen on show, to go back to when leaving is refused

async function mayLeave() {
  const msg = typeof lc.guard === 'function' ? lc.guard() : null;
  if (!msg) return true;
  return confirmDialog(msg, { confirmLabel: 'Leave without saving', cancelLabel: 'Stay', title: 'Unsaved changes' });
}

async function onHashChange() {
  const { raw } = parseHash();
  if (raw === shownRaw) return;
  if (!raw.startsWith('/')) {
    // An in-page anchor such as the skip link: not a route.
    if (shownRaw !== null) history.replaceState(null, '', `#${shownRaw}`);
    main.focus();
    return;
  }
  if (!(await mayLeave())) {
    history.replaceState(null, '', `#${shownRaw}`);
    return;
  }
  render();
}

function firstAllowed() {
  return routes.find((r) => r.nav && allowed(r)) || routes.find((r) => r.nav);
}

async function render() {
  const seq = ++renderSeq;
  if (typeof cleanup === 'function') {
    try { cleanup(); } catch (e) { console.warn('cleanup', e); }
  }
  cleanup = null;
  lc.guard = null;
  lc.beforeSignIn = null;
  setMenu(false);

  let { raw, path, query } = parseHash();
  if (path === '/' || path === '') {
    const first = firstAllowed();
    path = first ? first.path : '/';
    raw = path;
    history.replaceState(null, '', `#${path}`);
  }
  shownRaw = raw;
  const container = h('div', { class: 'screen' });
  main.replaceChildren(container);
  markNav(path);

  const found = match(path);
  if (!found) {
    document.title = `Not found · ${APP}`;
    container.append(h('h1', {}, 'Not found'), h('p', {}, 'There is no such page in the console. '), h('a', { href: '#/' }, 'Go to the start'));
    main.focus();
    return;
  }
  const { route, params } = found;
  document.title = `${route.title || route.nav || ''} · ${APP}`;
  main.focus();
  if (!allowed(route)) {
    container.append(h('h1', {}, route.title || route.nav), h('p', { class: 'notice' }, `Your account does not hold the ${route.scope} permission needed here.`));
    return;
  }
  main.setAttribute('aria-busy', 'true');
  try {
    const c = await route.render(container, params, query);
    if (seq === renderSeq) cleanup = c;
    else if (typeof c === 'function') c();
  } catch (e) {
    if (seq === renderSeq && !lc.leaving) container.replaceChildren(errorBox(e));
    if (!(e && e.status)) console.error(e);
  } finally {
    if (seq === renderSeq) {
      main.removeAttribute('aria-busy');
      // A mark per screen shown, so the load benchmark can read how long a screen took from
      // the navigation's start (performance.getEntriesByName('latch:screen-ready')).
      performance.mark('latch:screen-ready');
    }
  }
}

// ---------------------------------------------------------------------------------------
// Signed-out states

function showSignedOut(kind, message) {
  document.body.dataset.state = kind;
  header.replaceChildren(h('span', { class: 'brand' }, APP));
  const container = h('div', { class: 'screen signed-out' });
  main.replaceChildren(container);
  if (kind === 'denied') {
    document.title = `No access · ${APP}`;
    container.append(
      h('h1', {}, 'You cannot use the admin console'),
      h('p', { id: 'denied-message', class: 'notice' }, message || 'This account is not an administrator.'),
      h('p', {}, 'Sign in with an administrator account to continue.'),
      h('button', { type: 'button', class: 'button primary', id: 'sign-in-other', 'data-testid': 'sign-in-other', onclick: () => signOut() }, 'Sign in as someone else'));
  } else {
    document.title = `Sign in · ${APP}`;
    container.append(h('h1', {}, 'latch admin console'));
    if (kind === 'error') container.append(h('p', { id: 'sign-in-error', class: 'notice error', role: 'alert' }, message));
    container.append(
      h('p', {}, 'Manage rules, actions, users, logs, signing keys and clients. Sign in with your administrator account.'),
      h('button', { type: 'button', class: 'button primary', id: 'sign-in', 'data-testid': 'sign-in', onclick: () => signIn('/') }, 'Sign in'));
  }
  main.focus();
}

function showBootError(err) {
  document.body.dataset.state = 'error';
  main.replaceChildren(h('div', { class: 'screen' }, h('h1', {}, 'The console could not start'), errorBox(err)));
}

// ---------------------------------------------------------------------------------------
// Boot

function armExpiry() {
  const s = session();
  if (!s || !s.expiresAt) return;
  // setTimeout's delay is a 32-bit number of milliseconds; a later expiry is re-armed.
  const ms = Math.min(s.expiresAt - Date.now(), 2 ** 31 - 1);
  setTimeout(() => {
    const now = session();
    if (now && now.expiresAt > Date.now() + 1000) armExpiry();
    else expireSession();
  }, Math.max(ms, 0));
}

async function boot() {
  document.querySelector('.skip-link')?.addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  let config;
  try {
    const resp = await fetch(new URL('../config.json', import.meta.url), { cache: 'no-store', credentials: 'omit' });
    if (!resp.ok) throw new Error(`config.json: HTTP ${resp.status}`);
    config = await resp.json();
  } catch (e) {
    showBootError(e);
    return;
  }
  lc.config = config;
  const state = await start(config);
  if (state.status !== 'signed-in') {
    showSignedOut(state.status, state.message);
    return;
  }
  document.body.dataset.state = 'signed-in';
  buildHeader();
  armExpiry();
  window.addEventListener('hashchange', onHashChange);
  window.addEventListener('beforeunload', (e) => {
    if (lc.leaving) return;
    const msg = typeof lc.guard === 'function' ? lc.guard() : null;
    if (msg) {
      e.preventDefault();
      e.returnValue = msg;
    }
  });
  await render();
}

boot();
