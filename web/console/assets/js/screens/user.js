// user.js: one user — profile, identities, the user_metadata and app_metadata editors with a
// preview of the merge that saving will do, block and unblock, brute-force blocks, deletion,
// and the user's recent auth events.

import { h, confirmDialog, toast, jsonEditor, emptyState, errorBox, formatTime, dataTable, definitionList, loading, code, fill } from '../ui.js';
import { api, ApiError } from '../api.js';
import { hasScope } from '../auth.js';
import { eventsTable } from './logs.js';

// ---------------------------------------------------------------------------------------
// The metadata merge

/** canonical renders a JSON value with sorted keys, so that equal values compare equal. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * metadataChanges says what saving `after` over `before` changes. PATCH /users/{id} merges
 * metadata by top-level key: a key sent replaces the stored one whole (nested objects too),
 * a key sent as null is deleted, a key not sent is kept. So the console sends only the keys
 * that changed, and a key the admin deleted as null; a key the admin set to null counts as
 * removed. Sending only changes also keeps values that JavaScript cannot hold exactly (an
 * integer beyond 2^53) as they are stored, unless the admin edits that very key.
 * Each change is {kind: 'add'|'change'|'remove', key, from?, to?}, sorted by key.
 */
export function metadataChanges(before, after) {
  const out = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const key of keys) {
    const had = Object.hasOwn(before, key);
    const has = Object.hasOwn(after, key) && after[key] !== null;
    if (had && !has) out.push({ kind: 'remove', key, from: before[key] });
    else if (!had && has) out.push({ kind: 'add', key, to: after[key] });
    else if (had && has && canonical(before[key]) !== canonical(after[key])) out.push({ kind: 'change', key, from: before[key], to: after[key] });
  }
  return out;
}

/** mergePatch is the PATCH body's metadata object for changes: removed keys as null. */
export function mergePatch(changes) {
  const patch = {};
  for (const c of changes) patch[c.key] = c.kind === 'remove' ? null : c.to;
  return patch;
}

function brief(v) {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

function changeLine(c) {
  const key = JSON.stringify(c.key);
  const text = {
    add: () => `will add ${key}: ${brief(c.to)}`,
    change: () => `will change ${key}: ${brief(c.from)} → ${brief(c.to)}`,
    remove: () => `will remove ${key} (was ${brief(c.from)})`,
  }[c.kind]();
  return h('li', { class: `chg-${c.kind}`, 'data-change': c.kind, 'data-key': c.key }, text);
}

/** inexact says whether v holds an integer the browser cannot represent exactly. */
function inexact(v) {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v);
  if (v && typeof v === 'object') return Object.values(v).some(inexact);
  return false;
}

/** caretToLine puts the caret at the start of a 1-based line of a textarea. */
function caretToLine(ta, line) {
  const lines = ta.value.split('\n');
  let pos = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
  ta.focus();
  ta.setSelectionRange(pos, pos + (lines[line - 1] || '').length);
}

/**
 * metadataEditor is one editor: the JSON, the live preview of the merge, Save. It keeps the
 * stored value in step with the server's answers. dirty() says whether the text differs
 * from what was last loaded or saved.
 */
function metadataEditor({ user, kind, label, canEdit, onSaved }) {
  const slug = kind.replace('_', '-'); // user-metadata, app-metadata
  let stored = isObject(user[kind]) ? user[kind] : {};
  const editor = jsonEditor({ label, value: stored, rows: 10, id: slug });
  const ta = editor.textarea;
  let savedText = ta.value;
  if (!canEdit) ta.readOnly = true;
  const changes = h('ul', { class: 'changes', id: `${slug}-changes`, 'aria-label': `Changes to ${kind}` });
  const status = h('p', { class: 'hint', id: `${slug}-status`, 'aria-live': 'polite' });
  const saveError = h('div', { id: `${slug}-save-error` });
  const precision = h('p', { class: 'hint', id: `${slug}-precision` },
    'Some numbers here are too large for the browser to show exactly; the server keeps them as stored unless you change their key.');
  const showPrecision = () => { precision.hidden = !inexact(stored); };
  showPrecision();

  function preview() {
    const text = ta.value.trim() === '' ? 'null' : ta.value;
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      fill(changes);
      status.textContent = 'The JSON is not valid yet: the changes show once it is.';
      return;
    }
    if (!isObject(value)) {
      fill(changes);
      status.textContent = `${kind} must be a JSON object ({…}).`;
      return;
    }
    const list = metadataChanges(stored, value);
    fill(changes, ...list.map(changeLine));
    status.textContent = list.length === 0
      ? 'No changes.'
      : `Saving sends ${list.length} key${list.length === 1 ? '' : 's'}; every other key stays as it is.`;
  }
  ta.addEventListener('input', preview);

  async function save() {
    fill(saveError);
    const r = editor.read(); // shows "Not valid JSON (line N)" under the editor
    if (!r.ok) {
      caretToLine(ta, r.line);
      return;
    }
    if (!isObject(r.value)) {
      const err = document.getElementById(`${slug}-error`);
      err.hidden = false;
      err.textContent = `${kind} must be a JSON object ({…}); to remove every key, save {}.`;
      ta.setAttribute('aria-invalid', 'true');
      ta.focus();
      return;
    }
    const list = metadataChanges(stored, r.value);
    if (list.length === 0) {
      toast(`Nothing to save: ${kind} is unchanged.`);
      return;
    }
    // Never send an empty object: the API reads {} as "remove all metadata".
    const body = { [kind]: mergePatch(list) };
    saveBtn.disabled = true;
    try {
      const updated = await api('PATCH', `/users/${encodeURIComponent(user.user_id)}`, body);
      stored = isObject(updated[kind]) ? updated[kind] : {};
      editor.set(stored);
      savedText = ta.value;
      showPrecision();
      preview();
      toast(`Saved ${kind}.`);
      onSaved(updated);
    } catch (e) {
      fill(saveError, errorBox(e));
    } finally {
      saveBtn.disabled = false;
    }
  }

  const saveBtn = h('button', { type: 'button', class: 'button primary', id: `${slug}-save`, onclick: save }, `Save ${kind}`);
  const revert = h('button', {
    type: 'button', class: 'button', id: `${slug}-revert`, onclick: () => {
      editor.set(stored);
      editor.read();
      preview();
    },
  }, 'Revert');
  preview();
  const el = h('section', { class: 'metadata', 'aria-labelledby': `${slug}-h`, id: `${slug}-section` },
    h('h2', { id: `${slug}-h` }, kind),
    h('p', { class: 'hint' }, kind === 'app_metadata'
      ? 'Set by admins and rules; the user cannot change it. '
      : 'Preferences the user may change. ',
    'Saving merges by top-level key: keys you add or change replace the stored ones whole, keys you delete are removed, the rest stay.'),
    editor.el,
    precision,
    h('h3', { class: 'changes-title' }, 'What saving will do'),
    status, changes,
    canEdit ? h('div', { class: 'button-row' }, saveBtn, revert) : h('p', { class: 'hint' }, 'Your role cannot change users (update:users).'),
    saveError);
  return { el, dirty: () => ta.value !== savedText };
}

// ---------------------------------------------------------------------------------------
// The page

function profilePairs(u) {
  return [
    ['Email', u.email, 'user-email'],
    ['Email verified', u.email === undefined ? '' : (u.email_verified ? 'Yes' : 'No'), 'user-email-verified'],
    ['Name', u.name, 'user-name'],
    u.nickname && ['Nickname', u.nickname],
    u.username && ['Username', u.username],
    u.phone_number && ['Phone', u.phone_number],
    ['User ID', code(u.user_id), 'user-id'],
    ['Status', u.blocked ? h('span', { class: 'badge bad', id: 'user-blocked-badge' }, 'Blocked') : 'Active', 'user-status'],
    ['Created', formatTime(u.created_at)],
    ['Updated', formatTime(u.updated_at)],
    ['Last login', u.last_login ? formatTime(u.last_login) : 'Never', 'user-last-login'],
    ['Last IP', u.last_ip, 'user-last-ip'],
    ['Logins', String(u.logins_count ?? 0), 'user-logins'],
    u.last_password_reset && ['Last password reset', formatTime(u.last_password_reset)],
  ];
}

function identitiesTable(u) {
  const ids = u.identities || [];
  if (ids.length === 0) return emptyState('No identities.');
  return dataTable({
    id: 'user-identities', caption: 'Identities',
    columns: [
      { label: 'Connection', cell: (i) => i.connection || '' },
      { label: 'Provider', cell: (i) => i.provider || '' },
      { label: 'User ID', cell: (i) => code(i.user_id || '') },
      { label: 'Social', cell: (i) => (i.isSocial ? 'Yes' : 'No') },
    ],
    rows: ids,
  });
}

/** bruteForceSection lists the (identifier, IP) pairs that attack protection blocks. */
function bruteForceSection(u) {
  const body = h('div', { id: 'user-bf-body' }, h('p', { class: 'loading' }, 'Loading…'));
  const path = `/user-blocks/${encodeURIComponent(u.user_id)}`;
  async function load() {
    try {
      const r = await api('GET', path);
      const blocks = (r && r.blocked_for) || [];
      if (blocks.length === 0) {
        fill(body, emptyState('No brute-force blocks: this user may try to log in from any address.'));
        return;
      }
      fill(body,
        h('p', {}, 'Too many failed logins: these addresses may not try this user\u2019s identifiers until the blocks are removed (or the user follows the unblock link in the notice email).'),
        dataTable({
          id: 'user-bf-table', caption: 'Blocked addresses',
          columns: [{ label: 'Identifier', cell: (b) => b.identifier }, { label: 'IP address', cell: (b) => code(b.ip) }],
          rows: blocks,
        }),
        hasScope('update:users') ? h('button', {
          type: 'button', class: 'button', id: 'user-bf-remove', onclick: async (ev) => {
            ev.currentTarget.disabled = true;
            try {
              await api('DELETE', path);
              toast('Brute-force blocks removed.');
            } catch (e) {
              toast(e.message, 'error');
            }
            load();
          },
        }, 'Remove brute-force blocks') : null);
    } catch (e) {
      fill(body, errorBox(e));
    }
  }
  load();
  return h('section', { 'aria-labelledby': 'user-bf-h', id: 'user-bf' },
    h('h2', { id: 'user-bf-h' }, 'Brute-force blocks'), body);
}

function eventsSection(u) {
  if (!hasScope('read:logs') && !hasScope('read:logs_users')) return null;
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  (async () => {
    try {
      const r = await api('GET', `/users/${encodeURIComponent(u.user_id)}/logs?page=0&per_page=10&include_totals=true`);
      const events = r.logs || [];
      fill(body,
        events.length === 0 ? emptyState('No events for this user.') : eventsTable(events, { id: 'user-events-table', caption: 'Recent events', withUser: false }),
        r.total > events.length ? h('p', { class: 'hint' }, `The ${events.length} latest of ${r.total} events.`) : null,
        hasScope('read:logs') ? h('a', { href: `#/logs?${new URLSearchParams({ user_id: u.user_id })}`, id: 'user-events-all' }, 'All events of this user in Logs') : null);
    } catch (e) {
      fill(body, errorBox(e));
    }
  })();
  return h('section', { 'aria-labelledby': 'user-events-h', id: 'user-events' }, h('h2', { id: 'user-events-h' }, 'Recent events'), body);
}

// passwordSection sets a database user's password (PATCH with password and connection, as
// the Management API wants). The value goes to the API once and is never kept or shown.
function passwordSection(u) {
  const identity = (u.identities || []).find((i) => i.provider === 'auth0');
  if (!hasScope('update:users') || !identity) return null;
  const input = h('input', { id: 'user-password', type: 'password', autocomplete: 'new-password', spellcheck: 'false' });
  const status = h('p', { class: 'hint', id: 'user-password-status', role: 'status' });
  const btn = h('button', { type: 'submit', class: 'button', id: 'user-password-save' }, 'Set password');
  const form = h('form', { id: 'user-password-form', novalidate: true },
    // Whose password this is, for password managers (and so browsers do not warn of a
    // password form without a username).
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: u.email || u.user_id, readonly: true, hidden: true }),
    h('div', { class: 'field' }, h('label', { for: 'user-password' }, 'New password'), input,
      h('p', { class: 'hint' }, "The connection's password policy applies. The user's sessions stay open.")),
    btn, status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!input.value) {
      status.textContent = 'Type the new password first.';
      input.focus();
      return;
    }
    btn.disabled = true;
    try {
      await api('PATCH', `/users/${encodeURIComponent(u.user_id)}`, { password: input.value, connection: identity.connection });
      input.value = '';
      status.textContent = 'Password set.';
      toast('Password set.');
    } catch (err) {
      status.textContent = err.message;
      input.focus();
    } finally {
      btn.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'user-password-h', id: 'user-password-section' },
    h('h2', { id: 'user-password-h' }, 'Password'), form);
}

function deleteSection(u) {
  if (!hasScope('delete:users')) return null;
  const expected = u.email || u.user_id;
  const input = h('input', { id: 'user-delete-confirm', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const btn = h('button', { type: 'button', class: 'button danger', id: 'user-delete', disabled: true }, 'Delete user');
  input.addEventListener('input', () => { btn.disabled = input.value.trim() !== expected; });
  btn.addEventListener('click', async () => {
    if (input.value.trim() !== expected) return;
    const ok = await confirmDialog(`Delete ${expected} for good? Their profile and metadata are removed and they can no longer log in; their past events stay in the log until they age out.`, { confirmLabel: 'Delete user', title: 'Delete this user?' });
    if (!ok) return;
    try {
      await api('DELETE', `/users/${encodeURIComponent(u.user_id)}`);
      toast(`Deleted ${expected}.`);
      window.latchConsole.guard = null;
      location.hash = '#/users';
    } catch (e) {
      toast(e.message, 'error');
    }
  });
  return h('section', { class: 'danger-zone', 'aria-labelledby': 'user-delete-h', id: 'user-danger' },
    h('h2', { id: 'user-delete-h' }, 'Delete'),
    h('div', { class: 'field' },
      h('label', { for: 'user-delete-confirm' }, `To delete this user, type ${u.email ? 'their email' : 'their user ID'}: `, h('strong', {}, expected)),
      input),
    btn);
}

/** renderUser draws #/users/:id. */
export async function renderUser(main, params) {
  loading(main, 'the user');
  let u;
  try {
    u = await api('GET', `/users/${encodeURIComponent(params.id)}`);
  } catch (e) {
    fill(main, h('p', {}, h('a', { href: '#/users' }, '← Users')),
      e instanceof ApiError && e.status === 404 ? emptyState('This user does not exist (any more).') : errorBox(e));
    return undefined;
  }
  const who = u.email || u.username || u.name || u.user_id;
  document.title = `${who} · latch admin`;

  const title = h('h1', { id: 'user-title' }, who);
  const profile = h('div', { id: 'user-profile' });
  const blockBtn = h('button', { type: 'button', class: 'button', id: 'user-block' });
  const showProfile = () => {
    fill(profile, definitionList(profilePairs(u)));
    blockBtn.textContent = u.blocked ? 'Unblock' : 'Block';
    blockBtn.classList.toggle('danger', !u.blocked);
    blockBtn.setAttribute('aria-describedby', 'user-status-note');
  };
  const statusNote = h('p', { class: 'hint', id: 'user-status-note' });
  const updateNote = () => {
    statusNote.textContent = u.blocked
      ? 'Blocked: every login of this user is refused until you unblock them.'
      : 'Blocking refuses every login of this user, from anywhere, until you unblock them.';
  };
  blockBtn.addEventListener('click', async () => {
    const block = !u.blocked;
    if (block && !(await confirmDialog(`Block ${who}? Their next logins are refused, from every address, until you unblock them.`, { confirmLabel: 'Block', title: 'Block this user?' }))) return;
    blockBtn.disabled = true;
    try {
      u = await api('PATCH', `/users/${encodeURIComponent(u.user_id)}`, { blocked: block });
      showProfile();
      updateNote();
      toast(block ? `Blocked ${who}.` : `Unblocked ${who}.`);
    } catch (e) {
      toast(e.message, 'error');
    } finally {
      blockBtn.disabled = false;
      blockBtn.focus();
    }
  });
  showProfile();
  updateNote();

  const canEditMeta = hasScope('update:users') || hasScope('update:users_app_metadata');
  const onSaved = (updated) => {
    u = updated;
    showProfile();
  };
  const userMeta = metadataEditor({ user: u, kind: 'user_metadata', label: 'user_metadata (JSON)', canEdit: canEditMeta, onSaved });
  const appMeta = metadataEditor({ user: u, kind: 'app_metadata', label: 'app_metadata (JSON)', canEdit: canEditMeta, onSaved });
  window.latchConsole.guard = () => (userMeta.dirty() || appMeta.dirty() ? 'The metadata of this user has unsaved changes.' : null);

  fill(main,
    h('p', {}, h('a', { href: '#/users' }, '← Users')),
    h('div', { class: 'screen-head' }, title),
    h('section', { 'aria-labelledby': 'user-profile-h' },
      h('h2', { id: 'user-profile-h', class: 'visually-hidden' }, 'Profile'),
      profile,
      hasScope('update:users') ? h('div', { class: 'button-row' }, blockBtn) : null,
      statusNote),
    bruteForceSection(u),
    h('section', { 'aria-labelledby': 'user-identities-h' }, h('h2', { id: 'user-identities-h' }, 'Identities'), identitiesTable(u)),
    h('div', { class: 'metadata-pair' }, userMeta.el, appMeta.el),
    eventsSection(u),
    passwordSection(u),
    deleteSection(u));
  return () => { window.latchConsole.guard = null; };
}
