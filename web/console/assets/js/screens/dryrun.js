// dryrun.js: the "Try this rule" panel of the rule editor. It runs POST /rules/try for a
// real user and client with the draft in place of the saved rule, and shows what a login
// would issue and save. The server saves nothing: no login counted, no metadata written.

import { api, ApiError } from '../api.js';
import { h, field, emptyState, errorBox, uid } from '../ui.js';

/** userQuery turns what the admin typed into the `q` of GET /users: text with a ':' is taken
 * as the search syntax as is; an email or a word becomes a prefix search. */
export function userQuery(text) {
  const t = text.trim();
  if (t === '' || t === '*') return '';
  if (t.includes(':')) return t;
  const escaped = t.replace(/[+\-&|!(){}[\]^"~*?:\\/\s]/g, (c) => `\\${c}`);
  return t.includes('@') ? `email:${escaped}*` : `${escaped}*`;
}

function jsonText(v) {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, null, 1);
}

/** claimsTable shows an object's keys and JSON values, or says it is empty. */
function claimsTable(id, caption, obj) {
  const keys = Object.keys(obj || {});
  if (keys.length === 0) return h('div', { id }, emptyState(`No ${caption.toLowerCase()}.`));
  return h('table', { class: 'claims', id },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Claim'), h('th', { scope: 'col' }, 'Value'))),
    h('tbody', {}, keys.map((k) => h('tr', { 'data-claim': k }, h('th', { scope: 'row' }, k), h('td', {}, jsonText(obj[k]))))));
}

/** diffRows compares two metadata objects key by key. */
export function diffRows(before = {}, after = {}) {
  const b = before || {};
  const a = after || {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  return keys.map((k) => {
    const inB = Object.prototype.hasOwnProperty.call(b, k);
    const inA = Object.prototype.hasOwnProperty.call(a, k);
    let change = 'same';
    if (inB && !inA) change = 'removed';
    else if (!inB && inA) change = 'added';
    else if (JSON.stringify(b[k]) !== JSON.stringify(a[k])) change = 'changed';
    return { key: k, before: inB ? b[k] : undefined, after: inA ? a[k] : undefined, change };
  });
}

function diffTable(id, name, diff) {
  const rows = diffRows(diff && diff.before, diff && diff.after);
  const summary = diff && diff.changed
    ? h('p', {}, `The login would save these changes to ${name}:`)
    : h('p', { class: 'muted' }, `No change to ${name}.`);
  if (rows.length === 0) return h('div', { id, 'data-changed': String(!!(diff && diff.changed)) }, summary, emptyState(`${name} is empty.`));
  const cell = (v) => (v === undefined ? h('span', { class: 'muted' }, '—') : jsonText(v));
  return h('div', { id, 'data-changed': String(!!(diff && diff.changed)) }, summary,
    h('table', { class: 'claims diff' },
      h('caption', { class: 'visually-hidden' }, `${name} before and after`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'), h('th', { scope: 'col' }, 'Change'))),
      h('tbody', {}, rows.map((r) => h('tr', { class: r.change === 'same' ? null : `diff-${r.change}`, 'data-key': r.key, 'data-change': r.change },
        h('th', { scope: 'row' }, r.key), h('td', {}, cell(r.before)), h('td', {}, cell(r.after)),
        h('td', {}, r.change === 'same' ? h('span', { class: 'muted' }, 'unchanged') : h('span', { class: 'diff-mark' }, r.change)))))));
}

function formatNS(ns) {
  const ms = Number(ns) / 1e6;
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

/** renderResult shows a DryRunResult. */
export function renderResult(res) {
  const ok = res.outcome === 'ok';
  const out = [
    h('p', { class: 'saved-nothing', id: 'dryrun-nothing-saved' }, 'Nothing was saved: this was a dry run.'),
    h('p', { id: 'dryrun-outcome', 'data-outcome': res.outcome },
      'Outcome: ', h('span', { class: ok ? 'outcome-ok' : 'outcome-bad' }, res.outcome),
      ` (${Number(res.duration_ms || 0).toFixed(1)} ms for the rules)`),
  ];
  if (res.denial) {
    out.push(h('div', { class: 'error-box', id: 'dryrun-denial' },
      h('strong', {}, 'The login would be denied'), ` by rule ${res.denial.script_id || ''}: `,
      res.denial.message || res.denial.code, res.denial.code ? ` (${res.denial.code})` : ''));
  }
  if (res.error) {
    out.push(h('div', { class: 'error-box', id: 'dryrun-error' },
      h('strong', {}, `Rule ${res.error.name || res.error.script_id || ''} failed`), ` (${res.error.kind}): `, res.error.message));
  }
  if (ok) {
    out.push(h('div', { class: 'result-grid' },
      h('div', {}, h('h3', {}, 'ID token claims'), claimsTable('dryrun-id-token', 'ID token claims', res.id_token)),
      h('div', {}, h('h3', {}, 'Access token claims'), claimsTable('dryrun-access-token', 'Access token claims', res.access_token)),
      h('div', {}, h('h3', {}, '/userinfo'), claimsTable('dryrun-userinfo', '/userinfo claims', res.userinfo))));
    if (res.dropped_claims && res.dropped_claims.length) {
      out.push(h('p', { class: 'notice', id: 'dryrun-dropped' },
        'Claims the rules set that no token would carry (not namespaced, or reserved): ', res.dropped_claims.join(', ')));
    }
  }
  out.push(
    h('div', { class: 'result-grid' },
      h('div', {}, h('h3', {}, 'user_metadata'), diffTable('dryrun-user-metadata', 'user_metadata', res.user_metadata)),
      h('div', {}, h('h3', {}, 'app_metadata'), diffTable('dryrun-app-metadata', 'app_metadata', res.app_metadata))),
    h('h3', {}, 'Console output'),
    res.console && res.console.length
      ? h('ol', { class: 'console-lines', id: 'dryrun-console' }, res.console.map((l) => h('li', {}, l)))
      : h('div', { id: 'dryrun-console' }, emptyState('No console output.')),
    h('h3', {}, 'Time per rule'),
    res.timings && res.timings.length
      ? h('table', { class: 'claims', id: 'dryrun-timings' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rule'), h('th', { scope: 'col' }, 'Outcome'), h('th', { scope: 'col' }, 'Time'))),
        h('tbody', {}, res.timings.map((t) => h('tr', {}, h('th', { scope: 'row' }, t.name || t.script_id), h('td', {}, t.outcome), h('td', {}, formatNS(t.duration))))))
      : h('div', { id: 'dryrun-timings' }, emptyState('No rule ran.')));
  return out;
}

/**
 * dryRunPanel builds the panel. draft() returns {id?, name, script} of the editor;
 * onSyntaxError(err) is told when the draft does not compile; onRan() after a run.
 */
export function dryRunPanel({ draft, onSyntaxError, onRan }) {
  const q = h('input', { type: 'search', id: 'dryrun-user-q', autocomplete: 'off', placeholder: 'ann@example.com' });
  const searchBtn = h('button', { type: 'submit', class: 'button', id: 'dryrun-user-search' }, 'Search');
  const users = h('div', { class: 'listbox', id: 'dryrun-users', role: 'radiogroup', 'aria-labelledby': 'dryrun-users-label' },
    h('p', { class: 'muted' }, 'Search to list users.'));
  const client = h('select', { id: 'dryrun-client' }, h('option', { value: '' }, 'Loading clients…'));
  const scope = h('input', { type: 'text', id: 'dryrun-scope', value: 'openid profile email', autocomplete: 'off' });
  const audience = h('input', { type: 'text', id: 'dryrun-audience', autocomplete: 'off', placeholder: 'the default audience' });
  const run = h('button', { type: 'submit', class: 'button primary', id: 'dryrun-run' }, 'Run dry run');
  const problem = h('p', { class: 'field-error', id: 'dryrun-problem', role: 'alert' });
  const result = h('div', { id: 'dryrun-result' });
  // A short status is announced; the result itself is too long to be read out whole.
  const status = h('p', { id: 'dryrun-status', class: 'muted', role: 'status' });
  const resultCard = h('section', { class: 'card dryrun-result', 'aria-labelledby': 'dryrun-result-title', hidden: true },
    h('h2', { id: 'dryrun-result-title' }, 'Dry-run result'), result);

  async function search(e) {
    if (e) e.preventDefault();
    searchBtn.disabled = true;
    users.setAttribute('aria-busy', 'true');
    try {
      const query = userQuery(q.value);
      const path = `/users?per_page=20&search_engine=v3${query ? `&q=${encodeURIComponent(query)}` : ''}`;
      const list = await api('GET', path);
      const items = Array.isArray(list) ? list : (list.users || []);
      if (items.length === 0) {
        users.replaceChildren(emptyState('No user matches.'));
        return;
      }
      users.replaceChildren(...items.map((u, i) => {
        const id = uid('dryrun-user');
        const label = `${u.email || u.username || u.name || u.user_id}`;
        return h('div', { class: 'field check' },
          h('input', { type: 'radio', name: 'dryrun-user', id, value: u.user_id, checked: i === 0 }),
          h('label', { for: id }, label, ' ', h('span', { class: 'muted' }, `(${u.user_id})`)));
      }));
    } catch (err) {
      users.replaceChildren(errorBox(err));
    } finally {
      searchBtn.disabled = false;
      users.removeAttribute('aria-busy');
    }
  }

  async function loadClients() {
    try {
      const list = await api('GET', '/clients?per_page=100&fields=client_id,name,app_type&include_fields=true');
      const items = (Array.isArray(list) ? list : (list.clients || [])).filter((c) => c.client_id !== 'latch-console');
      if (items.length === 0) {
        client.replaceChildren(h('option', { value: '' }, 'No client'));
        return;
      }
      client.replaceChildren(...items.map((c) => h('option', { value: c.client_id }, `${c.name || c.client_id} (${c.client_id})`)));
    } catch (err) {
      client.replaceChildren(h('option', { value: '' }, `Clients could not be listed: ${err.message}`));
    }
  }

  async function runDry(e) {
    e.preventDefault();
    const picked = users.querySelector('input[name="dryrun-user"]:checked');
    problem.textContent = '';
    if (!picked) {
      problem.textContent = 'Pick a user first: search, then choose one.';
      q.focus();
      return;
    }
    if (!client.value) {
      problem.textContent = 'Pick a client first.';
      client.focus();
      return;
    }
    const d = draft();
    const body = { user_id: picked.value, client_id: client.value, rule: { name: d.name || 'draft', script: d.script } };
    if (d.id) body.rule.id = d.id;
    if (scope.value.trim()) body.scope = scope.value.trim();
    if (audience.value.trim()) body.audience = audience.value.trim();
    run.disabled = true;
    status.textContent = 'Running…';
    resultCard.hidden = false;
    result.setAttribute('aria-busy', 'true');
    result.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
    try {
      const res = await api('POST', '/rules/try', body);
      result.replaceChildren(...renderResult(res));
      status.textContent = `Dry run finished: ${res.outcome}. Nothing was saved. The result is under the editor.`;
      if (onRan) onRan(res);
    } catch (err) {
      const handled = err instanceof ApiError && err.status === 400 && onSyntaxError && onSyntaxError(err);
      status.textContent = 'The dry run failed. Nothing was saved.';
      result.replaceChildren(
        h('p', { class: 'saved-nothing', id: 'dryrun-nothing-saved' }, 'Nothing was saved: this was a dry run.'),
        handled ? h('p', { class: 'notice error' }, 'The draft does not compile: see the error under the editor.') : errorBox(err));
    } finally {
      run.disabled = false;
      result.removeAttribute('aria-busy');
    }
  }

  const el = h('section', { class: 'card dryrun', 'aria-labelledby': 'dryrun-title', id: 'dryrun' },
    h('h2', { id: 'dryrun-title' }, 'Try this rule'),
    h('p', { class: 'hint' }, 'Runs the login rules for a real user and client, with this draft in place of the saved rule. ',
      h('strong', {}, 'Nothing is saved'), ': no login is counted, no metadata is written, no token is issued.'),
    h('form', { role: 'search', onsubmit: search, 'aria-label': 'Find a user' },
      field('Find a user', q, { hint: 'An email, a name, or a query in the user search syntax, e.g. email:"ann@example.com".' }),
      h('div', { class: 'toolbar' }, searchBtn)),
    h('form', { onsubmit: runDry, 'aria-label': 'Dry run' },
      h('p', { id: 'dryrun-users-label', class: 'legend' }, h('strong', {}, 'User')),
      users,
      field('Client', client),
      h('details', {}, h('summary', {}, 'Scope and audience'),
        field('Scope', scope), field('Audience', audience)),
      problem,
      h('div', { class: 'toolbar' }, run),
      status,
      h('p', { class: 'hint' }, 'The result shows under the editor.')));
  loadClients();
  return { el, result: resultCard };
}
