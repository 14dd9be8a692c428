// users.js: the user list — a search in the Management API's q syntax (v3), simple filters
// that add clauses to it, and paging with totals. Each row opens the user page (user.js).

import { h, field, pager, emptyState, errorBox, formatTime, dataTable, goQuery, fill } from '../ui.js';
import { api } from '../api.js';
import { hasScope } from '../auth.js';
import { userLink } from './logs.js';
import { renderUser } from './user.js';

const PER_PAGE = 50;

/** escapeTerm escapes the characters of a bare search term that have a meaning in q. */
export function escapeTerm(s) {
  return s.replace(/[+\-&|!(){}[\]^"~*?:\\/\s]/g, (c) => `\\${c}`);
}

/** phrase quotes a value as a q phrase. */
function phrase(s) {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * userQuery joins the admin's own q and the filters with AND. A filter that cannot be
 * searched throws an Error whose field names the input at fault.
 */
export function userQuery({ q, email, connection, blocked }) {
  const parts = [];
  if (q && q.trim()) {
    // Parenthesised, so that an OR in it does not swallow the filters.
    parts.push(email || connection || blocked ? `(${q.trim()})` : q.trim());
  }
  if (email && email.trim()) {
    const term = email.trim();
    if ([...term].length < 3) {
      const err = new Error('Type at least 3 characters of the email (or search with q, e.g. email:jo*).');
      err.field = 'users-email';
      throw err;
    }
    parts.push(`email:*${escapeTerm(term)}*`);
  }
  if (connection) parts.push(`identities.connection:${phrase(connection)}`);
  if (blocked === 'true') parts.push('blocked:true');
  if (blocked === 'false') parts.push('blocked:false');
  return parts.join(' AND ');
}

async function connectionNames() {
  if (!hasScope('read:connections')) return null;
  try {
    const list = await api('GET', '/connections');
    return (Array.isArray(list) ? list : list.connections || []).map((c) => c.name);
  } catch {
    return null; // the filter falls back to a text box
  }
}

async function renderUsers(main, params, query) {
  const state = {
    q: query.q || '', email: query.email || '', connection: query.connection || '',
    blocked: query.blocked || '', page: Math.max(0, Number(query.page) || 0),
  };
  const q = h('input', {
    id: 'users-q', name: 'q', type: 'search', value: state.q, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'email:"ann@example.com" OR name:jo*',
  });
  const email = h('input', { id: 'users-email', name: 'email', type: 'text', value: state.email, autocomplete: 'off', spellcheck: 'false' });
  const blocked = h('select', { id: 'users-blocked', name: 'blocked' },
    h('option', { value: '' }, 'Any'), h('option', { value: 'true' }, 'Blocked'), h('option', { value: 'false' }, 'Not blocked'));
  blocked.value = state.blocked;
  const names = await connectionNames();
  let connection;
  if (names) {
    connection = h('select', { id: 'users-connection', name: 'connection' },
      h('option', { value: '' }, 'Any'), names.map((n) => h('option', { value: n }, n)));
    if (state.connection && !names.includes(state.connection)) connection.append(h('option', { value: state.connection }, state.connection));
    connection.value = state.connection;
  } else {
    connection = h('input', { id: 'users-connection', name: 'connection', type: 'text', value: state.connection, autocomplete: 'off' });
  }
  const results = h('div', { id: 'users-results' });
  const queryNote = h('p', { class: 'hint', id: 'users-effective-q' });

  const apply = (page) => goQuery({
    q: q.value, email: email.value.trim(), connection: connection.value, blocked: blocked.value, page,
  }, load);
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search users', id: 'users-filters' },
    h('div', { class: 'field-wide' }, field('Search (q syntax)', q, {
      hint: 'Lucene-like: field:value, "phrases", prefix*, [ranges TO …], AND / OR / NOT. Fields include email, name, user_id, blocked, logins_count, created_at, user_metadata.x.',
    })),
    field('Email contains', email),
    field('Connection', connection),
    field('Blocked', blocked),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'button primary', id: 'users-search' }, 'Search'),
      h('a', { class: 'button', href: '#/users', id: 'users-clear' }, 'Clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply(0);
  });

  fill(main,
    h('div', { class: 'screen-head' }, h('h1', {}, 'Users')),
    form, queryNote, results);

  async function load() {
    for (const el of [q, email]) el.removeAttribute('aria-invalid');
    let text;
    try {
      text = userQuery(state);
    } catch (e) {
      const input = e.field && document.getElementById(e.field);
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
      fill(results, errorBox(e));
      return;
    }
    queryNote.textContent = text ? `Searching: ${text}` : '';
    const qs = new URLSearchParams({ page: String(state.page), per_page: String(PER_PAGE), include_totals: 'true', search_engine: 'v3' });
    if (text) qs.set('q', text);
    results.setAttribute('aria-busy', 'true');
    try {
      const body = await api('GET', `/users?${qs}`);
      const users = body.users || [];
      fill(results,
        h('p', { class: 'count', id: 'users-count', role: 'status' }, `${body.total} user${body.total === 1 ? '' : 's'}`),
        users.length === 0 ? emptyState(text ? 'No user matches this search.' : 'No users yet.') : usersTable(users),
        pager({ page: state.page, perPage: PER_PAGE, total: body.total, count: users.length, onPage: apply }));
    } catch (e) {
      if (e.status === 400 && state.q) q.setAttribute('aria-invalid', 'true');
      fill(results, errorBox(e));
    } finally {
      results.removeAttribute('aria-busy');
    }
  }
  await load();
}

function usersTable(users) {
  return dataTable({
    id: 'users-table', caption: 'Users',
    columns: [
      {
        label: 'Email', class: 'col-main',
        cell: (u) => h('span', {},
          h('a', { href: userLink(u.user_id), class: 'user-link' }, u.email || u.username || u.user_id),
          u.blocked ? h('span', { class: 'badge bad' }, 'Blocked') : null),
      },
      { label: 'Name', cell: (u) => u.name || '' },
      { label: 'Connection', cell: (u) => (u.identities && u.identities[0] ? u.identities[0].connection : '') },
      { label: 'Last login', cell: (u) => (u.last_login ? formatTime(u.last_login) : 'Never') },
      { label: 'Logins', class: 'num', cell: (u) => String(u.logins_count ?? 0) },
    ],
    rows: users,
    rowAttrs: (u) => ({ 'data-user-id': u.user_id }),
  });
}

export const routes = [
  { path: '/users', nav: 'Users', title: 'Users', scope: 'read:users', render: (main, params, query) => renderUsers(main, params, query || {}) },
  { path: '/users/:id', title: 'User', scope: 'read:users', render: renderUser },
];
