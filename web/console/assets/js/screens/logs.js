// logs.js: the auth event log (GET /logs) with filters, and one event in full (GET
// /logs/{id}), including what the rules printed while the login ran.
//
// It also holds what the users screens show of events (eventsTable, logLink, userLink), so
// that those modules import from here and never from each other.

import { h, toast, field, pager, emptyState, errorBox, formatTime, dataTable, definitionList, fill, loading, goQuery, code } from '../ui.js';
import { api, ApiError } from '../api.js';

// ---------------------------------------------------------------------------------------
// Event types

/**
 * EVENT_TYPES are the type codes latch writes (server/flow/events.go and email_service.go),
 * with the names an admin knows from Auth0's dashboard, by group.
 */
export const EVENT_TYPES = [
  ['Logins', [
    ['s', 'Success Login'], ['f', 'Failed Login'], ['fp', 'Failed Login (Incorrect Password)'],
    ['fu', 'Failed Login (Invalid Email/Username)'], ['ssa', 'Success Silent Auth'], ['fsa', 'Failed Silent Auth'],
    ['slo', 'Success Logout'],
  ]],
  ['Signups', [['ss', 'Success Signup'], ['fs', 'Failed Signup']]],
  ['Token exchanges', [
    ['seacft', 'Success Exchange (Authorization Code for Access Token)'],
    ['feacft', 'Failed Exchange (Authorization Code for Access Token)'],
    ['sertft', 'Success Exchange (Refresh Token for Access Token)'],
    ['fertft', 'Failed Exchange (Refresh Token for Access Token)'],
    ['seccft', 'Success Exchange (Client Credentials for Access Token)'],
    ['feccft', 'Failed Exchange (Client Credentials for Access Token)'],
  ]],
  ['Attack protection', [
    ['limit_wc', 'Blocked Account (too many failed logins)'], ['limit_mu', 'Blocked IP Address'],
    ['ublkdu', 'User Login Block Released'],
  ]],
  ['Email', [
    ['sv', 'Success Verification Email'], ['fv', 'Failed Verification Email'],
    ['svr', 'Success Verification Email Request'], ['fvr', 'Failed Verification Email Request'],
    ['scp', 'Success Change Password'], ['fcp', 'Failed Change Password'],
    ['scpr', 'Success Change Password Request'], ['fcpr', 'Failed Change Password Request'],
    ['fn', 'Failed Sending Notification'],
  ]],
  ['Management API', [['sapi', 'Success API Operation']]],
];

// TYPE_GROUPS are filters over several types; their values are q fragments as the log search
// accepts them (a list joined by OR, or a prefix wildcard).
const TYPE_GROUPS = [
  ['(s OR f OR fp OR fu)', 'Every password login (s, f, fp, fu)'],
  ['f*', 'Every failure (f…)'],
  ['limit*', 'Every attack-protection block (limit_…)'],
];

const TYPE_NAMES = new Map(EVENT_TYPES.flatMap(([, types]) => types));

/** typeName is the name of an event type code (the code itself when latch has no name). */
export function typeName(type) {
  return TYPE_NAMES.get(type) || type;
}

/** failed says whether an event type records a failure or a block. */
export function failed(type) {
  return type.startsWith('f') || type.startsWith('limit');
}

function typeCell(e) {
  return h('span', { class: failed(e.type) ? 'event-type bad' : 'event-type', title: typeName(e.type) },
    h('code', {}, e.type), ' ', typeName(e.type));
}

export function logLink(e) {
  return `#/logs/${encodeURIComponent(e.log_id)}`;
}

export function userLink(id) {
  return `#/users/${encodeURIComponent(id)}`;
}

/** eventsTable lists events; each links to its detail. */
export function eventsTable(events, { id, caption, withUser = true }) {
  const columns = [
    { label: 'Date', class: 'nowrap', cell: (e) => h('a', { href: logLink(e), 'data-testid': 'log-link' }, formatTime(e.date)) },
    { label: 'Type', cell: typeCell },
    { label: 'Description', class: 'desc', cell: (e) => e.description || '' },
  ];
  if (withUser) {
    columns.push({ label: 'User', class: 'nowrap', cell: (e) => (e.user_id ? h('a', { href: userLink(e.user_id) }, e.user_name || e.user_id) : (e.user_name || '')) });
  }
  columns.push(
    { label: 'Application', cell: (e) => e.client_name || e.client_id || '' },
    { label: 'IP', cell: (e) => e.ip || '' },
  );
  return dataTable({ id, caption, columns, rows: events, rowAttrs: (e) => ({ 'data-type': e.type, 'data-log-id': e.log_id }) });
}

// ---------------------------------------------------------------------------------------
// The q of /logs

/** quote makes a value a quoted phrase of the log search syntax. */
export function quote(v) {
  return `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * utcMinute turns the value of a datetime-local input (the admin's local time) into the UTC
 * minute the search syntax reads: an inclusive range bound then covers that whole minute.
 */
function utcMinute(local) {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return null;
  return `${d.toISOString().slice(0, 16)}Z`;
}

/** logQuery builds the q of the filters; '' when none is set. */
export function logQuery({ type, user_id: userID, client_id: clientID, from, to }) {
  const parts = [];
  if (type) parts.push(`type:${type}`);
  if (userID) parts.push(`user_id:${quote(userID)}`);
  if (clientID) parts.push(`client_id:${quote(clientID)}`);
  if (from || to) {
    const a = from ? utcMinute(from) : '*';
    const b = to ? utcMinute(to) : '*';
    if (a === null || b === null) throw new Error('The time range is not a valid date and time.');
    parts.push(`date:[${a} TO ${b}]`);
  }
  return parts.join(' AND ');
}

// ---------------------------------------------------------------------------------------
// The list

const PER_PAGE = 50;

function typeSelect(value) {
  const sel = h('select', { id: 'logs-type', name: 'type' },
    h('option', { value: '' }, 'Any type'),
    h('optgroup', { label: 'Groups' }, TYPE_GROUPS.map(([v, label]) => h('option', { value: v }, label))),
    EVENT_TYPES.map(([group, types]) => h('optgroup', { label: group },
      types.map(([c, name]) => h('option', { value: c }, `${c} — ${name}`)))));
  sel.value = value || '';
  return sel;
}

async function renderLogs(main, params, query) {
  const state = {
    type: query.type || '', user_id: query.user_id || '', client_id: query.client_id || '',
    from: query.from || '', to: query.to || '', page: Math.max(0, Number(query.page) || 0),
  };

  const type = typeSelect(state.type);
  const user = h('input', { id: 'logs-user', name: 'user_id', type: 'text', value: state.user_id, autocomplete: 'off', spellcheck: 'false' });
  const client = h('input', { id: 'logs-client', name: 'client_id', type: 'text', value: state.client_id, autocomplete: 'off', spellcheck: 'false' });
  const from = h('input', { id: 'logs-from', name: 'from', type: 'datetime-local', value: state.from });
  const to = h('input', { id: 'logs-to', name: 'to', type: 'datetime-local', value: state.to });
  const results = h('div', { id: 'logs-results' });
  const queryNote = h('p', { class: 'hint', id: 'logs-q' });

  const apply = (page) => goQuery({
    type: type.value, user_id: user.value.trim(), client_id: client.value.trim(), from: from.value, to: to.value, page,
  }, load);
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the log', id: 'logs-filters' },
    field('Type', type),
    field('User ID', user),
    field('Application (client ID)', client),
    field('From (your local time)', from),
    field('To (your local time, inclusive)', to),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'button primary', id: 'logs-apply' }, 'Apply filters'),
      h('a', { class: 'button', id: 'logs-clear', href: '#/logs' }, 'Clear'),
      h('button', { type: 'button', class: 'button', id: 'logs-refresh', onclick: () => load() }, 'Refresh')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply(0);
  });

  fill(main,
    h('div', { class: 'screen-head' }, h('h1', {}, 'Logs')),
    h('p', { class: 'lede' }, 'Auth events: logins, signups, token exchanges, blocks and Management API writes, newest first.'),
    form, queryNote, results);

  async function load() {
    let q;
    try {
      q = logQuery(state);
    } catch (e) {
      fill(results, errorBox(e));
      return;
    }
    queryNote.textContent = q ? `Search: ${q}` : '';
    const qs = new URLSearchParams({ page: String(state.page), per_page: String(PER_PAGE), include_totals: 'true' });
    if (q) qs.set('q', q);
    results.setAttribute('aria-busy', 'true');
    try {
      const body = await api('GET', `/logs?${qs}`);
      const events = body.logs || [];
      fill(results,
        h('p', { class: 'count', id: 'logs-count', role: 'status' }, `${body.total} event${body.total === 1 ? '' : 's'}`),
        events.length === 0
          ? emptyState(q ? 'No event matches these filters.' : 'No events yet.')
          : eventsTable(events, { id: 'logs-table', caption: 'Events' }),
        pager({ page: state.page, perPage: PER_PAGE, total: body.total, count: events.length, onPage: apply }));
    } catch (e) {
      fill(results, errorBox(e));
    } finally {
      results.removeAttribute('aria-busy');
    }
  }
  await load();
}

// ---------------------------------------------------------------------------------------
// One event

function pre(id, text) {
  return h('pre', { id, class: 'output', tabindex: '0' }, text);
}

/** rulesSection shows details.rules: the pipeline's outcome, each script, the console. */
function rulesSection(r) {
  const scripts = Array.isArray(r.scripts) ? r.scripts : [];
  const consoleLines = Array.isArray(r.console) ? r.console : [];
  return h('section', { id: 'log-rules', 'aria-labelledby': 'log-rules-h' },
    h('h2', { id: 'log-rules-h' }, 'Rules'),
    definitionList([
      ['Outcome', r.outcome, 'log-rules-outcome'],
      ['Time', r.duration_ms !== undefined ? `${r.duration_ms} ms` : ''],
      r.error && ['Error', `${r.error.script ? `${r.error.script}: ` : ''}${r.error.kind ? `${r.error.kind}: ` : ''}${r.error.message || ''}`, 'log-rules-error'],
      r.denial && ['Denied', `${r.denial.code || ''} ${r.denial.message || ''}`.trim(), 'log-rules-denial'],
    ]),
    scripts.length > 0 && dataTable({
      id: 'log-rules-scripts', caption: 'Scripts that ran',
      columns: [
        { label: 'Script', cell: (s) => s.name || s.id || '' },
        { label: 'Outcome', cell: (s) => s.outcome || '' },
        { label: 'Time', cell: (s) => (s.duration_ms !== undefined ? `${s.duration_ms} ms` : '') },
      ],
      rows: scripts,
    }),
    h('h3', {}, 'Console output'),
    consoleLines.length === 0
      ? emptyState('The rules printed nothing.')
      : pre('log-console', consoleLines.join('\n') + (r.console_truncated ? '\n… (cut: the log keeps the first 4 KB)' : '')));
}

async function renderLog(main, params) {
  loading(main, 'the event');
  let e;
  try {
    e = await api('GET', `/logs/${encodeURIComponent(params.id)}`);
  } catch (err) {
    fill(main, h('p', {}, h('a', { href: '#/logs' }, '← Logs')),
      err instanceof ApiError && err.status === 404 ? emptyState('This event does not exist (events are kept for a limited time).') : errorBox(err));
    return;
  }
  document.title = `${typeName(e.type)} · latch admin`;
  const details = e.details || {};
  const err = details.error;
  fill(main,
    h('p', {}, h('a', { href: '#/logs' }, '← Logs')),
    h('div', { class: 'screen-head' }, h('h1', { id: 'log-title' }, typeName(e.type))),
    definitionList([
      ['Type', h('span', {}, h('code', { id: 'log-type' }, e.type), ' ', typeName(e.type))],
      ['Date', formatTime(e.date)],
      ['Description', e.description, 'log-description'],
      ['Log ID', code(e.log_id)],
      ['User', e.user_id ? h('a', { href: userLink(e.user_id), id: 'log-user' }, e.user_name || e.user_id) : e.user_name],
      ['User ID', e.user_id ? code(e.user_id) : ''],
      ['Application', e.client_id ? h('a', { href: `#/clients/${encodeURIComponent(e.client_id)}` }, e.client_name || e.client_id) : ''],
      ['Connection', e.connection],
      ['Strategy', [e.strategy, e.strategy_type].filter(Boolean).join(' / ')],
      ['Audience', e.audience],
      ['Scope', e.scope],
      ['IP address', e.ip],
      ['User agent', e.user_agent],
      ['Host', e.hostname],
      err && ['Error', typeof err === 'object' ? `${err.message || ''}${err.oauthError ? ` (${err.oauthError})` : ''}` : String(err), 'log-error'],
    ], { id: 'log-props' }),
    details.rules && typeof details.rules === 'object' ? rulesSection(details.rules) : null,
    h('section', { 'aria-labelledby': 'log-raw-h' },
      h('h2', { id: 'log-raw-h' }, 'Raw event'),
      pre('log-json', JSON.stringify(e, null, 2)),
      h('button', { type: 'button', class: 'button', id: 'log-copy', onclick: async () => {
        try {
          await navigator.clipboard.writeText(JSON.stringify(e, null, 2));
          toast('Copied the event as JSON.');
        } catch {
          toast('The browser did not allow copying; select the text instead.', 'error');
        }
      } }, 'Copy JSON')));
}

export const routes = [
  { path: '/logs', nav: 'Logs', title: 'Logs', scope: 'read:logs', render: (main, params, query) => renderLogs(main, params, query || {}) },
  { path: '/logs/:id', title: 'Log event', scope: 'read:logs', render: renderLog },
];
