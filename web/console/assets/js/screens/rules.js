// rules.js: the rules list (in pipeline order, with enabled switches and reordering) and the
// rule editor with its dry-run panel.

import { api, ApiError } from '../api.js';
import { hasScope } from '../auth.js';
import { h, confirmDialog, toast, field, emptyState, uid } from '../ui.js';
import { reorderable } from '../reorder.js';
import { codeEditor } from '../editor.js';
import { dryRunPanel } from './dryrun.js';

/** TEMPLATES are the starting scripts of a new rule. */
export const TEMPLATES = [
  {
    id: 'empty', name: 'Empty rule',
    script: `function (user, context, callback) {
  // Change the user or the tokens here, then hand them on.
  callback(null, user, context);
}
`,
  },
  {
    id: 'claim', name: 'Add a claim to the tokens',
    script: `function (user, context, callback) {
  const namespace = 'https://example.com/';
  const plan = (user.app_metadata || {}).plan || 'free';
  context.idToken[namespace + 'plan'] = plan;
  context.accessToken[namespace + 'plan'] = plan;
  callback(null, user, context);
}
`,
  },
  {
    id: 'deny-domain', name: 'Deny an email domain',
    script: `function (user, context, callback) {
  if ((user.email || '').endsWith('@blocked.example')) {
    return callback(new UnauthorizedError('Your organisation may not sign in here.'));
  }
  callback(null, user, context);
}
`,
  },
  {
    id: 'metadata', name: 'Save to user_metadata',
    script: `function (user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  user.user_metadata.last_seen_client = context.clientName;
  auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
    .then(() => callback(null, user, context))
    .catch((err) => callback(err));
}
`,
  },
  {
    id: 'secret', name: 'Use a rules secret',
    script: `function (user, context, callback) {
  // configuration holds the rules secrets (Rules secrets page).
  const apiKey = configuration.MY_API_KEY;
  if (!apiKey) console.log('MY_API_KEY is not set');
  callback(null, user, context);
}
`,
  },
];

const DRAFT_KEY = 'latch.console.rule-draft:';

/** compileError reads the line and column of a save-time compile error from the API's
 * message, or null when the error is of another kind. */
export function compileError(message) {
  const syn = /syntax error at line (\d+), column (\d+): ([\s\S]*?)(?:' on property [\w.]+\.?)?$/i.exec(message || '');
  if (syn) {
    return { line: Number(syn[1]), column: Number(syn[2]), text: `Syntax error at line ${syn[1]}, column ${syn[2]}: ${syn[3]}` };
  }
  const mod = /'([\s\S]*) \(line (\d+), column (\d+)\)' on property/.exec(message || '');
  if (mod) {
    return { line: Number(mod[2]), column: Number(mod[3]), text: `Line ${mod[2]}, column ${mod[3]}: ${mod[1]}` };
  }
  return null;
}

function byOrder(a, b) {
  return a.order - b.order || a.name.localeCompare(b.name);
}

/**
 * saveOrder gives the rules of list the orders they hold between them, in list order, by
 * PATCHing order. Orders are unique, so a rule whose new order another still holds first
 * moves to a free one. It returns the rules as saved.
 */
export async function saveOrder(list, all) {
  const finals = list.map((r) => r.order).sort((a, b) => a - b);
  const byId = new Map(all.map((r) => [r.id, { ...r }]));
  const pending = list.map((r, i) => ({ id: r.id, to: finals[i] })).filter((p) => byId.get(p.id).order !== p.to);
  const patch = async (id, order) => {
    const saved = await api('PATCH', `/rules/${encodeURIComponent(id)}`, { order });
    byId.set(id, saved);
  };
  while (pending.length) {
    const held = new Set([...byId.values()].map((r) => r.order));
    const i = pending.findIndex((p) => !held.has(p.to));
    if (i >= 0) {
      const [p] = pending.splice(i, 1);
      await patch(p.id, p.to);
    } else {
      // Every wanted order is held by another moving rule: park one past the others.
      const free = Math.max(...held) + 1;
      await patch(pending[0].id, free);
    }
  }
  return [...byId.values()];
}

// ---------------------------------------------------------------------------------------
// The list

async function renderList(main) {
  const canUpdate = hasScope('update:rules');
  const canCreate = hasScope('create:rules');
  const canDelete = hasScope('delete:rules');
  main.append(h('h1', {}, 'Rules'));
  main.append(h('p', { class: 'hint', id: 'rules-help' },
    'Rules run in this order after every login. Reorder by dragging a row, with its Up and Down buttons, or focus a row and press Alt+↑ or Alt+↓.'));
  const toolbar = h('div', { class: 'toolbar' },
    canCreate ? h('a', { class: 'button primary', href: '#/rules/new', id: 'create-rule' }, 'Create rule') : null);
  main.append(toolbar);
  const holder = h('div', {});
  main.append(holder);

  let all = (await api('GET', '/rules')).sort(byOrder);
  if (all.length === 0) {
    holder.append(emptyState('No rules yet. A rule is a JavaScript function that runs after every login and can change the tokens, save metadata or deny the login.'));
    return;
  }

  async function toggle(rule, input) {
    const want = input.checked;
    input.disabled = true;
    try {
      const saved = await api('PATCH', `/rules/${encodeURIComponent(rule.id)}`, { enabled: want });
      rule.enabled = saved.enabled;
      toast(`${rule.name} is ${saved.enabled ? 'enabled' : 'disabled'}.`);
    } catch (err) {
      input.checked = !want;
      toast(`Could not change ${rule.name}: ${err.message}`, 'error');
    } finally {
      input.disabled = false;
    }
  }

  async function remove(rule, button) {
    const ok = await confirmDialog(`Delete the rule “${rule.name}”? Logins stop running it at once. This cannot be undone.`, { confirmLabel: 'Delete rule' });
    if (!ok) return;
    button.disabled = true;
    try {
      await api('DELETE', `/rules/${encodeURIComponent(rule.id)}`);
      all = all.filter((r) => r.id !== rule.id);
      list.setItems(all);
      toast(`Deleted ${rule.name}.`);
      const first = list.el.querySelector('li');
      (first || document.getElementById('create-rule') || document.getElementById('main')).focus();
      if (all.length === 0) list.el.replaceWith(emptyState('No rules yet.'));
    } catch (err) {
      button.disabled = false;
      toast(`Could not delete ${rule.name}: ${err.message}`, 'error');
    }
  }

  const list = reorderable({
    id: 'rules-list',
    label: 'Rules, in the order they run',
    items: all,
    keyOf: (r) => r.id,
    nameOf: (r) => r.name,
    canMove: canUpdate,
    renderRow(rule, index, moveButtons) {
      const nameId = uid('rule-name');
      const sw = h('input', {
        type: 'checkbox', role: 'switch', class: 'switch', id: `rule-enabled-${rule.id}`, 'data-testid': 'rule-enabled',
        checked: rule.enabled, disabled: !canUpdate, 'aria-labelledby': `${nameId} ${nameId}-sw`,
      });
      sw.addEventListener('change', () => toggle(rule, sw));
      const del = canDelete
        ? h('button', { type: 'button', class: 'button small danger', 'data-testid': 'rule-delete', 'aria-label': `Delete ${rule.name}` }, 'Delete')
        : null;
      if (del) del.addEventListener('click', () => remove(rule, del));
      return [
        h('a', { class: 'item-name', href: `#/rules/${encodeURIComponent(rule.id)}`, id: nameId, 'data-testid': 'rule-name' }, rule.name),
        h('span', { class: 'field check' }, sw, h('label', { for: sw.id, id: `${nameId}-sw` }, 'Enabled')),
        h('span', { class: 'item-actions' }, moveButtons,
          h('a', { class: 'button small', href: `#/rules/${encodeURIComponent(rule.id)}`, 'aria-label': `Edit ${rule.name}` }, 'Edit'),
          del),
      ];
    },
    async save(ordered) {
      try {
        all = await saveOrder(ordered, all);
      } catch (err) {
        toast(`The new order was not saved: ${err.message}`, 'error');
        all = (await api('GET', '/rules')).sort(byOrder);
        list.setItems(all);
        throw err;
      }
    },
  });
  holder.append(list.el);
  main.append(h('p', { class: 'hint' }, 'A disabled rule does not run at logins; you can still try it from its page.'));
}

// ---------------------------------------------------------------------------------------
// The editor

async function renderEditor(main, params) {
  const isNew = !params.id;
  const canSave = isNew ? hasScope('create:rules') : hasScope('update:rules');
  const canTry = hasScope('read:users') && (hasScope('update:rules') || hasScope('create:rules'));
  let rule = isNew
    ? { id: '', name: '', script: TEMPLATES[0].script, enabled: false }
    : await api('GET', `/rules/${encodeURIComponent(params.id)}`);
  let saved = { name: rule.name, script: rule.script };

  const title = h('h1', { id: 'rule-title' }, isNew ? 'New rule' : `Rule: ${rule.name}`);
  document.title = `${isNew ? 'New rule' : rule.name} · latch admin`;
  const nameInput = h('input', {
    type: 'text', id: 'rule-name', value: rule.name, required: true, maxlength: '255', autocomplete: 'off', disabled: !canSave,
  });
  const enabled = h('input', { type: 'checkbox', role: 'switch', class: 'switch', id: 'rule-enabled', checked: rule.enabled, disabled: !hasScope(isNew ? 'create:rules' : 'update:rules') });
  const status = h('span', { id: 'rule-status', class: 'muted', 'aria-live': 'polite' });
  const errorEl = h('div', { id: 'rule-error', class: 'rule-error', role: 'alert' });
  errorEl.hidden = true;
  const help = h('p', { id: 'editor-help', class: 'hint' },
    'Tab inserts two spaces. To leave the editor with the keyboard, press Escape, then Tab. Ctrl+S saves.');
  const editor = codeEditor({ id: 'rule-script', value: rule.script, describedBy: 'editor-help rule-error' });
  if (!canSave) editor.textarea.readOnly = true;

  // Where a draft is kept across a sign-in: the rule's id, once it has one.
  const draftKey = () => DRAFT_KEY + (rule.id || 'new');
  const stash = readDraft(draftKey());
  let restored = false;
  if (stash) {
    nameInput.value = stash.name;
    editor.setValue(stash.script);
    restored = true;
  }

  const dirty = () => nameInput.value !== saved.name || editor.value() !== saved.script;
  function updateStatus() {
    status.textContent = dirty() ? 'Unsaved changes' : (rule.id ? 'Saved' : 'Not saved yet');
  }
  nameInput.addEventListener('input', updateStatus);
  editor.onChange(updateStatus);
  updateStatus();

  const lc = window.latchConsole;
  lc.guard = () => (dirty() ? 'This rule has changes that are not saved. Leave without saving them?' : null);
  lc.beforeSignIn = () => {
    if (dirty()) sessionStorage.setItem(draftKey(), JSON.stringify({ name: nameInput.value, script: editor.value() }));
  };

  function showError(text, line, column) {
    errorEl.hidden = false;
    errorEl.textContent = text;
    if (line) {
      editor.markError(line);
      editor.goTo(line, column);
    }
  }
  function clearError() {
    errorEl.hidden = true;
    errorEl.textContent = '';
    editor.clearError();
  }
  // handleCompileError shows a compile error at its line; false when err is not one.
  function handleCompileError(err) {
    const ce = compileError(err.message);
    if (!ce) return false;
    showError(ce.text, ce.line, ce.column);
    return true;
  }

  let saving = false;
  async function save(e) {
    if (e) e.preventDefault();
    if (saving || !canSave) return;
    const name = nameInput.value.trim();
    if (!name) {
      showError('The rule needs a name.');
      nameInput.setAttribute('aria-invalid', 'true');
      nameInput.focus();
      return;
    }
    nameInput.removeAttribute('aria-invalid');
    saving = true;
    saveBtn.disabled = true;
    status.textContent = 'Saving…';
    try {
      if (isNew && !rule.id) {
        rule = await api('POST', '/rules', { name, script: editor.value(), enabled: enabled.checked });
        lc.replace(`/rules/${encodeURIComponent(rule.id)}`);
        if (delBtn) delBtn.hidden = false;
      } else {
        const body = {};
        if (name !== saved.name) body.name = name;
        if (editor.value() !== saved.script) body.script = editor.value();
        if (Object.keys(body).length === 0) {
          toast('Nothing to save: no changes.');
          return;
        }
        rule = await api('PATCH', `/rules/${encodeURIComponent(rule.id)}`, body);
      }
      saved = { name: rule.name, script: rule.script };
      nameInput.value = rule.name;
      title.textContent = `Rule: ${rule.name}`;
      document.title = `${rule.name} · latch admin`;
      clearError();
      toast(`Saved ${rule.name}.`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 400 && handleCompileError(err))) {
        showError(err.message);
        if (err instanceof ApiError && err.status === 409) nameInput.focus();
      }
    } finally {
      saving = false;
      saveBtn.disabled = false;
      updateStatus();
    }
  }

  async function toggleEnabled() {
    if (!rule.id) {
      toast(enabled.checked ? 'The rule will be enabled when you save it.' : 'The rule will be saved disabled.');
      return;
    }
    const want = enabled.checked;
    enabled.disabled = true;
    try {
      const r = await api('PATCH', `/rules/${encodeURIComponent(rule.id)}`, { enabled: want });
      rule.enabled = r.enabled;
      toast(`${r.name} is ${r.enabled ? 'enabled' : 'disabled'}.`);
    } catch (err) {
      enabled.checked = !want;
      toast(`Could not change the rule: ${err.message}`, 'error');
    } finally {
      enabled.disabled = false;
    }
  }
  enabled.addEventListener('change', toggleEnabled);

  async function remove() {
    const ok = await confirmDialog(`Delete the rule “${rule.name}”? Logins stop running it at once. This cannot be undone.`, { confirmLabel: 'Delete rule' });
    if (!ok) return;
    try {
      await api('DELETE', `/rules/${encodeURIComponent(rule.id)}`);
      lc.guard = null;
      toast(`Deleted ${rule.name}.`);
      lc.navigate('/rules');
    } catch (err) {
      toast(`Could not delete the rule: ${err.message}`, 'error');
    }
  }

  const saveBtn = h('button', { type: 'submit', class: 'button primary', id: 'rule-save', disabled: !canSave }, 'Save');
  const delBtn = hasScope('delete:rules')
    ? h('button', { type: 'button', class: 'button danger', id: 'rule-delete', onclick: remove, hidden: isNew }, 'Delete rule')
    : null;

  const form = h('form', { id: 'rule-form', onsubmit: save, novalidate: true },
    field('Name', nameInput, { hint: 'Letters, digits, spaces and “-”.' }),
    h('div', { class: 'field check' }, enabled, h('label', { for: 'rule-enabled' }, 'Enabled (runs at every login)')),
    isNew ? templatePicker(editor) : null,
    h('label', { for: 'rule-script', class: 'editor-label' }, h('strong', {}, 'Script')),
    help,
    editor.el,
    errorEl,
    h('div', { class: 'toolbar' }, saveBtn, status, h('span', { class: 'spacer' }), delBtn));
  form.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 's') {
      e.preventDefault();
      save();
    }
  });

  const layout = h('div', { class: 'editor-layout' }, h('div', {}, form));
  let results = null;
  if (canTry) {
    const panel = dryRunPanel({
      draft: () => ({ id: rule.id, name: nameInput.value.trim() || rule.name || 'draft', script: editor.value() }),
      onSyntaxError: (err) => handleCompileError(err),
      onRan: () => { if (editor.errorLine()) clearError(); },
    });
    layout.append(panel.el);
    results = panel.result;
  }
  main.append(h('p', {}, h('a', { href: '#/rules' }, '← All rules')), title);
  if (restored) main.append(h('p', { class: 'notice', id: 'rule-restored' }, 'Your unsaved changes from before you signed in again were restored.'));
  main.append(layout);
  if (results) main.append(results);
  if (restored) updateStatus();
  return () => {
    lc.guard = null;
    lc.beforeSignIn = null;
  };
}

function readDraft(key) {
  try {
    const d = JSON.parse(sessionStorage.getItem(key) || 'null');
    sessionStorage.removeItem(key);
    return d && typeof d.script === 'string' && typeof d.name === 'string' ? d : null;
  } catch {
    return null;
  }
}

function templatePicker(editor) {
  const select = h('select', { id: 'rule-template' }, TEMPLATES.map((t) => h('option', { value: t.id }, t.name)));
  let last = select.value;
  select.addEventListener('change', async () => {
    const t = TEMPLATES.find((x) => x.id === select.value);
    const current = TEMPLATES.find((x) => x.id === last);
    // Replacing what the admin typed asks first; an untouched template just changes.
    if (current && editor.value() !== current.script && editor.value().trim() !== '') {
      const ok = await confirmDialog('Replace the script with this template? What you typed is lost.', { confirmLabel: 'Replace', danger: true });
      if (!ok) {
        select.value = last;
        return;
      }
    }
    last = select.value;
    editor.setValue(t.script);
    editor.textarea.dispatchEvent(new Event('input', { bubbles: true }));
  });
  return field('Start from a template', select);
}

export const routes = [
  { path: '/rules', nav: 'Rules', title: 'Rules', scope: 'read:rules', render: renderList },
  { path: '/rules/new', title: 'New rule', scope: 'create:rules', render: (main) => renderEditor(main, {}) },
  { path: '/rules/:id', title: 'Rule', scope: 'read:rules', render: renderEditor },
];
