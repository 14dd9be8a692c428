// clients.js: the applications (GET /clients), a new one, and the settings of one: URLs,
// grants, how it authenticates, and its secret behind a Reveal button.

import { h, confirmDialog, toast, field, pager, emptyState, errorBox, uid, dataTable, definitionList, goQuery, loading, code, fill } from '../ui.js';
import { api, ApiError } from '../api.js';
import { hasScope } from '../auth.js';

const PER_PAGE = 50;

export const APP_TYPES = [
  ['regular_web', 'Regular web application'],
  ['spa', 'Single-page application'],
  ['native', 'Native (mobile or desktop)'],
  ['non_interactive', 'Machine to machine'],
];

const AUTH_METHODS = [
  ['none', 'None (public client: SPA, native app)'],
  ['client_secret_post', 'Client secret in the body (client_secret_post)'],
  ['client_secret_basic', 'Client secret in HTTP Basic (client_secret_basic)'],
];

// The grant types a client may list (server/flow KnownGrantTypes), with their names.
const GRANTS = [
  ['authorization_code', 'Authorization Code'],
  ['implicit', 'Implicit'],
  ['refresh_token', 'Refresh Token'],
  ['client_credentials', 'Client Credentials'],
  ['password', 'Password'],
  ['http://auth0.com/oauth/grant-type/password-realm', 'Password Realm'],
  ['http://auth0.com/oauth/grant-type/mfa-oob', 'MFA OOB'],
  ['http://auth0.com/oauth/grant-type/mfa-otp', 'MFA OTP'],
  ['http://auth0.com/oauth/grant-type/mfa-recovery-code', 'MFA Recovery Code'],
  ['urn:ietf:params:oauth:grant-type:device_code', 'Device Code'],
  ['urn:ietf:params:oauth:grant-type:token-exchange', 'Token Exchange'],
  ['urn:openid:params:grant-type:ciba', 'CIBA'],
];

function appTypeName(t) {
  const found = APP_TYPES.find(([v]) => v === t);
  return found ? found[1] : (t || '');
}

function options(list, value) {
  const sel = h('select', {}, list.map(([v, label]) => h('option', { value: v }, label)));
  if (value && !list.some(([v]) => v === value)) sel.append(h('option', { value }, value));
  sel.value = value || list[0][0];
  return sel;
}

// ---------------------------------------------------------------------------------------
// URL lists: one per line, checked as the API checks them before anything is sent

const BAD_SCHEMES = ['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:'];

/** redirectProblem says what is wrong with a callback or logout URL ('' when it is fine). */
export function redirectProblem(s) {
  let u;
  try {
    u = new URL(s);
  } catch {
    return 'is not an absolute URL (it needs a scheme such as https://)';
  }
  if (s.includes('#')) return 'must not have a fragment (#…)';
  if (BAD_SCHEMES.includes(u.protocol)) return `may not use ${u.protocol}`;
  if ((u.protocol === 'http:' || u.protocol === 'https:') && !u.host) return 'needs a host';
  return '';
}

/** originProblem says what is wrong with an origin: scheme://host[:port], at most a "/". */
export function originProblem(s) {
  let u;
  try {
    u = new URL(s);
  } catch {
    return 'is not an origin such as https://app.example.com';
  }
  if (BAD_SCHEMES.includes(u.protocol) || !u.host) return 'is not an origin such as https://app.example.com';
  if (u.username || u.password) return 'must not carry a user name or password';
  if (s.includes('?') || s.includes('#')) return 'must not have a query or a fragment';
  if (u.pathname !== '/' && u.pathname !== '') return 'must not have a path: an origin is scheme://host[:port]';
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]+\/?$/i.test(s)) return 'must not have a path: an origin is scheme://host[:port]';
  return '';
}

/**
 * urlList is a textarea of URLs, one per line. read() returns {ok, value} or {ok: false}
 * after marking the field and saying which line is wrong.
 */
function urlList({ id, label, hint, value, check }) {
  const ta = h('textarea', { id, rows: 4, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', 'aria-describedby': `${id}-error` });
  ta.value = (value || []).join('\n');
  const err = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
  const wrap = h('div', {}, field(label, ta, { hint }), err);
  function read() {
    const lines = ta.value.split('\n');
    const out = [];
    for (let i = 0; i < lines.length; i++) {
      const s = lines[i].trim();
      if (!s) continue;
      const problem = check(s);
      if (problem) {
        ta.setAttribute('aria-invalid', 'true');
        err.hidden = false;
        err.textContent = `Line ${i + 1}: “${s}” ${problem}.`;
        return { ok: false, el: ta };
      }
      if (!out.includes(s)) out.push(s);
    }
    ta.removeAttribute('aria-invalid');
    err.hidden = true;
    err.textContent = '';
    return { ok: true, value: out };
  }
  return { el: wrap, ta, read };
}

// ---------------------------------------------------------------------------------------
// The list

async function renderClients(main, params, query) {
  const page = Math.max(0, Number(query.page) || 0);
  const results = h('div', { id: 'clients-results' });
  fill(main,
    h('div', { class: 'screen-head' }, h('h1', {}, 'Applications'),
      hasScope('create:clients') ? h('a', { class: 'button primary', href: '#/clients/new', id: 'clients-create' }, 'Create application') : null),
    h('p', { class: 'lede' }, 'The clients that log users in or call APIs. The console itself is built in and not listed.'),
    results);
  try {
    const body = await api('GET', `/clients?${new URLSearchParams({ page: String(page), per_page: String(PER_PAGE), include_totals: 'true', fields: 'client_id,name,app_type,description', include_fields: 'true' })}`);
    const clients = body.clients || [];
    fill(results,
      clients.length === 0 ? emptyState('No applications yet.') : dataTable({
        id: 'clients-table', caption: 'Applications',
        columns: [
          { label: 'Name', class: 'col-main', cell: (c) => h('a', { href: `#/clients/${encodeURIComponent(c.client_id)}`, class: 'client-link' }, c.name || c.client_id) },
          { label: 'Client ID', cell: (c) => code(c.client_id) },
          { label: 'Type', cell: (c) => appTypeName(c.app_type) },
        ],
        rows: clients,
        rowAttrs: (c) => ({ 'data-client-id': c.client_id }),
      }),
      pager({ page, perPage: PER_PAGE, total: body.total, count: clients.length, onPage: (p) => goQuery({ page: p }, () => {}) }));
  } catch (e) {
    fill(results, errorBox(e));
  }
}

// ---------------------------------------------------------------------------------------
// A new client

function renderNewClient(main) {
  if (!hasScope('create:clients')) {
    fill(main, h('h1', {}, 'Create application'), emptyState('Your role cannot create applications (create:clients).'));
    return undefined;
  }
  const name = h('input', { id: 'client-name', type: 'text', required: true, maxlength: '255', autocomplete: 'off' });
  const appType = options(APP_TYPES, 'regular_web');
  appType.id = 'client-app-type';
  const description = h('input', { id: 'client-description', type: 'text', maxlength: '140', autocomplete: 'off' });
  const result = h('div', { id: 'client-create-error' });
  const form = h('form', { id: 'client-create-form', class: 'form' },
    field('Name', name),
    field('Application type', appType, { hint: 'Sets the starting grant types and whether the app keeps a secret; every setting can be changed afterwards.' }),
    field('Description (optional)', description),
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'button primary', id: 'client-create-submit' }, 'Create'),
      h('a', { class: 'button', href: '#/clients' }, 'Cancel')),
    result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(result);
    if (!name.value.trim()) {
      name.setAttribute('aria-invalid', 'true');
      fill(result, errorBox(new Error('Give the application a name.')));
      name.focus();
      return;
    }
    const body = { name: name.value.trim(), app_type: appType.value };
    if (description.value.trim()) body.description = description.value.trim();
    try {
      const c = await api('POST', '/clients', body);
      toast(`Created ${c.name}.`);
      location.hash = `#/clients/${encodeURIComponent(c.client_id)}`;
    } catch (e) {
      fill(result, errorBox(e));
    }
  });
  fill(main, h('p', {}, h('a', { href: '#/clients' }, '← Applications')), h('h1', {}, 'Create application'), form);
  name.focus();
  return undefined;
}

// ---------------------------------------------------------------------------------------
// One client

/** secretSection shows a confidential client's secret only on demand, and never logs it. */
function secretSection(c) {
  const secret = c.client_secret;
  if (!secret) {
    return h('p', { class: 'hint', id: 'client-secret-none' }, 'Your role cannot read client secrets (read:client_keys).');
  }
  const box = h('div', { id: 'client-secret-box', class: 'secret', hidden: true });
  const btn = h('button', { type: 'button', class: 'button', id: 'client-secret-reveal', 'aria-expanded': 'false', 'aria-controls': 'client-secret-box' }, 'Reveal');
  btn.addEventListener('click', () => {
    const show = btn.getAttribute('aria-expanded') !== 'true';
    btn.setAttribute('aria-expanded', String(show));
    btn.textContent = show ? 'Hide' : 'Reveal';
    // The secret is put on the page only while shown.
    fill(box, ...(show ? [h('code', { id: 'client-secret' }, secret),
      h('button', { type: 'button', class: 'button small', id: 'client-secret-copy', onclick: async () => {
        try {
          await navigator.clipboard.writeText(secret);
          toast('Copied the client secret.');
        } catch {
          toast('The browser did not allow copying; select the secret instead.', 'error');
        }
      } }, 'Copy')] : []));
    box.hidden = !show;
  });
  return h('div', {}, h('p', {}, 'Keep it on the server side of the application; anyone holding it can act as this application.'), btn, box);
}

function grantsFieldset(selected) {
  const boxes = GRANTS.map(([v, label]) => {
    const id = `grant-${v.replace(/[^a-z0-9]+/gi, '-')}`;
    const input = h('input', { type: 'checkbox', id, name: 'grant_types', value: v, checked: selected.includes(v) });
    return { v, input, el: h('div', { class: 'field check' }, input, h('label', { for: id }, label, ' ', h('code', { class: 'grant-id' }, v))) };
  });
  const unknown = selected.filter((g) => !GRANTS.some(([v]) => v === g));
  const el = h('fieldset', { id: 'client-grants', class: 'checks' }, h('legend', {}, 'Grant types'), boxes.map((b) => b.el),
    unknown.length ? h('p', { class: 'hint' }, `Also listed: ${unknown.join(', ')}`) : null);
  return { el, read: () => [...boxes.filter((b) => b.input.checked).map((b) => b.v), ...unknown] };
}

async function renderClient(main, params) {
  loading(main, 'the application');
  let c;
  try {
    c = await api('GET', `/clients/${encodeURIComponent(params.id)}`);
  } catch (e) {
    fill(main, h('p', {}, h('a', { href: '#/clients' }, '← Applications')),
      e instanceof ApiError && e.status === 404 ? emptyState('This application does not exist (any more).') : errorBox(e));
    return undefined;
  }
  document.title = `${c.name} · latch admin`;
  const canEdit = hasScope('update:clients');
  const title = h('h1', { id: 'client-title' }, c.name);

  const name = h('input', { id: 'client-name', type: 'text', value: c.name, required: true, maxlength: '255', autocomplete: 'off' });
  const description = h('input', { id: 'client-description', type: 'text', value: c.description || '', maxlength: '140', autocomplete: 'off' });
  const appType = options(APP_TYPES, c.app_type);
  appType.id = 'client-app-type';
  const authMethod = options(AUTH_METHODS, c.token_endpoint_auth_method);
  authMethod.id = 'client-auth-method';
  const callbacks = urlList({ id: 'client-callbacks', label: 'Allowed callback URLs', hint: 'One URL per line. Where logins may return to (redirect_uri).', value: c.callbacks, check: redirectProblem });
  const logoutURLs = urlList({ id: 'client-logout-urls', label: 'Allowed logout URLs', hint: 'One URL per line. Where /v2/logout may return to (returnTo).', value: c.allowed_logout_urls, check: redirectProblem });
  const webOrigins = urlList({ id: 'client-web-origins', label: 'Allowed web origins', hint: 'One origin per line (https://app.example.com). Pages that may use silent authentication (web_message).', value: c.web_origins, check: originProblem });
  const allowedOrigins = urlList({ id: 'client-allowed-origins', label: 'Allowed origins (CORS)', hint: 'One origin per line. Pages that may call latch from JavaScript (cross-origin requests).', value: c.allowed_origins, check: originProblem });
  const grants = grantsFieldset(c.grant_types || []);
  const saveError = h('div', { id: 'client-save-error' });
  const saveStatus = h('p', { id: 'client-save-status', class: 'hint', role: 'status' });
  const saveBtn = h('button', { type: 'submit', class: 'button primary', id: 'client-save' }, 'Save changes');

  const formState = () => JSON.stringify([name.value, description.value, appType.value, authMethod.value,
    callbacks.ta.value, logoutURLs.ta.value, webOrigins.ta.value, allowedOrigins.ta.value, grants.read()]);
  let savedState = formState();
  window.latchConsole.guard = () => (formState() !== savedState ? 'This application has unsaved changes.' : null);

  const form = h('form', { id: 'client-form', class: 'form', 'aria-labelledby': 'client-settings-h' },
    h('h2', { id: 'client-settings-h' }, 'Settings'),
    field('Name', name),
    field('Description', description, { hint: 'Up to 140 characters.' }),
    field('Application type', appType),
    callbacks.el, logoutURLs.el, webOrigins.el, allowedOrigins.el,
    grants.el,
    field('Token endpoint authentication method', authMethod, { hint: 'How the application proves itself at /oauth/token. Public clients (SPAs, native apps) cannot keep a secret: none.' }),
    canEdit ? h('div', { class: 'button-row' }, saveBtn, saveStatus) : h('p', { class: 'hint' }, 'Your role cannot change applications (update:clients).'),
    saveError);
  if (!canEdit) for (const el of form.querySelectorAll('input, select, textarea')) el.disabled = true;

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(saveError);
    saveStatus.textContent = '';
    if (!name.value.trim()) {
      name.setAttribute('aria-invalid', 'true');
      fill(saveError, errorBox(new Error('Give the application a name.')));
      name.focus();
      return;
    }
    name.removeAttribute('aria-invalid');
    const lists = [callbacks, logoutURLs, webOrigins, allowedOrigins].map((l) => l.read());
    const bad = lists.find((r) => !r.ok);
    if (bad) {
      bad.el.focus();
      fill(saveError, errorBox(new Error('Fix the marked URL before saving: nothing was saved.')));
      return;
    }
    const body = {
      name: name.value.trim(), description: description.value.trim(), app_type: appType.value,
      callbacks: lists[0].value, allowed_logout_urls: lists[1].value, web_origins: lists[2].value, allowed_origins: lists[3].value,
      grant_types: grants.read(), token_endpoint_auth_method: authMethod.value,
    };
    saveBtn.disabled = true;
    try {
      c = await api('PATCH', `/clients/${encodeURIComponent(c.client_id)}`, body);
      savedState = formState();
      title.textContent = c.name;
      document.title = `${c.name} · latch admin`;
      saveStatus.textContent = 'Saved.';
      toast(`Saved ${c.name}.`);
    } catch (e) {
      fill(saveError, errorBox(e));
    } finally {
      saveBtn.disabled = false;
    }
  });

  const confidential = c.token_endpoint_auth_method !== 'none';
  const deleteBtn = h('button', { type: 'button', class: 'button danger', id: 'client-delete' }, 'Delete application');
  deleteBtn.addEventListener('click', async () => {
    const ok = await confirmDialog(`Delete ${c.name} (${c.client_id})? Its users can no longer log in through it, its tokens stop being renewed, and its client grants are removed. This cannot be undone.`, { confirmLabel: 'Delete application', title: 'Delete this application?' });
    if (!ok) return;
    try {
      await api('DELETE', `/clients/${encodeURIComponent(c.client_id)}`);
      window.latchConsole.guard = null;
      toast(`Deleted ${c.name}.`);
      location.hash = '#/clients';
    } catch (e) {
      toast(e.message, 'error');
    }
  });

  const secretId = uid('secret-h');
  fill(main,
    h('p', {}, h('a', { href: '#/clients' }, '← Applications')),
    h('div', { class: 'screen-head' }, title),
    definitionList([
      ['Client ID', code(c.client_id), 'client-id'],
      ['Type', appTypeName(c.app_type)],
    ]),
    confidential ? h('section', { 'aria-labelledby': secretId, id: 'client-secret-section' }, h('h2', { id: secretId }, 'Client secret'), secretSection(c)) : null,
    form,
    hasScope('delete:clients') ? h('section', { class: 'danger-zone', 'aria-labelledby': 'client-delete-h' },
      h('h2', { id: 'client-delete-h' }, 'Delete'), deleteBtn) : null);
  return () => { window.latchConsole.guard = null; };
}

export const routes = [
  { path: '/clients', nav: 'Clients', title: 'Applications', scope: 'read:clients', render: (main, params, query) => renderClients(main, params, query || {}) },
  { path: '/clients/new', title: 'Create application', scope: 'create:clients', render: renderNewClient },
  { path: '/clients/:id', title: 'Application', scope: 'read:clients', render: renderClient },
];
