// actions.js: actions with their status, the actions bound to each trigger in the order they
// run (reordered like rules), and an action's code editor with save and deploy.

import { api, ApiError } from '../api.js';
import { hasScope } from '../auth.js';
import { h, confirmDialog, toast, field, emptyState, formatTime } from '../ui.js';
import { reorderable } from '../reorder.js';
import { codeEditor } from '../editor.js';
import { compileError } from './rules.js';

/** TRIGGERS are the triggers latch runs actions at, with their handler's name. */
export const TRIGGERS = [
  { id: 'post-login', name: 'Post Login', handler: 'onExecutePostLogin', help: 'After a login succeeds, before tokens are issued.' },
  { id: 'pre-user-registration', name: 'Pre User Registration', handler: 'onExecutePreUserRegistration', help: 'Before a signup creates the user; can refuse it.' },
  { id: 'post-user-registration', name: 'Post User Registration', handler: 'onExecutePostUserRegistration', help: 'After a signup created the user.' },
];

function starter(trigger) {
  const t = TRIGGERS.find((x) => x.id === trigger) || TRIGGERS[0];
  return `/**
 * ${t.name}: ${t.help}
 */
exports.${t.handler} = async (event, api) => {
};
`;
}

function statusBadge(a) {
  return a.all_changes_deployed
    ? h('span', { class: 'badge ok', 'data-testid': 'action-status' }, 'Deployed')
    : h('span', { class: 'badge off', 'data-testid': 'action-status' }, 'Not deployed');
}

async function listActions() {
  const all = [];
  for (let page = 0; page < 50; page += 1) {
    const r = await api('GET', `/actions/actions?per_page=100&page=${page}`);
    all.push(...r.actions);
    if (all.length >= r.total || r.actions.length === 0) break;
  }
  return all.sort((a, b) => a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------------------------------
// Actions and triggers

async function renderList(main) {
  const canCreate = hasScope('create:actions');
  main.append(h('h1', {}, 'Actions'));
  main.append(h('p', { class: 'hint' }, 'Actions run at a trigger in the order of its flow; only deployed actions can be added to a flow.'));
  if (canCreate) main.append(h('div', { class: 'toolbar' }, h('a', { class: 'button primary', href: '#/actions/new', id: 'create-action' }, 'Create action')));

  const actions = await listActions();
  main.append(h('h2', {}, 'All actions'));
  if (actions.length === 0) {
    main.append(emptyState('No actions yet.'));
  } else {
    main.append(h('table', { class: 'data', id: 'actions-table' },
      h('caption', { class: 'visually-hidden' }, 'Actions'),
      h('thead', {}, h('tr', {}, ['Name', 'Triggers', 'Status', 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, actions.map((a) => h('tr', { 'data-id': a.id },
        h('th', { scope: 'row' }, h('a', { href: `#/actions/${encodeURIComponent(a.id)}` }, a.name)),
        h('td', {}, a.supported_triggers.map((t) => t.id).join(', ')),
        h('td', {}, statusBadge(a)),
        h('td', {}, formatTime(a.updated_at)))))));
  }

  for (const t of TRIGGERS) {
    const section = h('section', { class: 'trigger', 'aria-labelledby': `trigger-${t.id}` },
      h('h2', { id: `trigger-${t.id}` }, `Flow: ${t.name}`),
      h('p', { class: 'hint' }, t.help, ' Reorder by dragging, with Up and Down, or Alt+↑ / Alt+↓ on a focused row.'));
    main.append(section);
    await renderTrigger(section, t, actions);
  }
}

async function renderTrigger(section, trigger, actions) {
  const canUpdate = hasScope('update:actions');
  const holder = h('div', {});
  section.append(holder);
  let bindings = (await api('GET', `/actions/triggers/${trigger.id}/bindings?per_page=100`)).bindings;

  async function saveBindings(next) {
    const body = { bindings: next.map((b) => ({ ref: { type: 'action_id', value: b.action.id }, display_name: b.display_name })) };
    const r = await api('PATCH', `/actions/triggers/${trigger.id}/bindings`, body);
    bindings = r.bindings;
    return bindings;
  }

  let list = null;
  function draw() {
    const bound = new Set(bindings.map((b) => b.action.id));
    const addable = actions.filter((a) => a.all_changes_deployed && !bound.has(a.id) && a.supported_triggers.some((x) => x.id === trigger.id));
    list = reorderable({
      id: `bindings-${trigger.id}`,
      label: `Actions of ${trigger.name}, in the order they run`,
      items: bindings,
      keyOf: (b) => b.action.id,
      nameOf: (b) => b.display_name || b.action.name,
      canMove: canUpdate,
      renderRow(b, index, moveButtons) {
        const remove = canUpdate ? h('button', {
          type: 'button', class: 'button small danger', 'aria-label': `Remove ${b.display_name} from ${trigger.name}`,
          async onclick() {
            if (!(await confirmDialog(`Remove ${b.display_name} from the ${trigger.name} flow? The action itself stays.`, { confirmLabel: 'Remove' }))) return;
            try {
              await saveBindings(list.items().filter((x) => x.action.id !== b.action.id));
              toast(`Removed ${b.display_name} from ${trigger.name}.`);
              draw();
              section.querySelector('h2').focus();
            } catch (e) {
              toast(`Could not remove it: ${e.message}`, 'error');
            }
          },
        }, 'Remove') : null;
        return [
          h('a', { class: 'item-name', href: `#/actions/${encodeURIComponent(b.action.id)}` }, b.display_name || b.action.name),
          statusBadge(b.action),
          h('span', { class: 'item-actions' }, moveButtons, remove),
        ];
      },
      async save(next) {
        try {
          await saveBindings(next);
        } catch (e) {
          toast(`The new order was not saved: ${e.message}`, 'error');
          bindings = (await api('GET', `/actions/triggers/${trigger.id}/bindings?per_page=100`)).bindings;
          list.setItems(bindings);
          throw e;
        }
      },
    });
    const parts = [bindings.length ? list.el : emptyState(`No action runs at ${trigger.name}.`)];
    if (canUpdate && addable.length) {
      const select = h('select', { id: `bind-${trigger.id}` }, addable.map((a) => h('option', { value: a.id }, a.name)));
      parts.push(h('form', {
        class: 'toolbar', 'aria-label': `Add an action to ${trigger.name}`,
        async onsubmit(e) {
          e.preventDefault();
          const a = addable.find((x) => x.id === select.value);
          try {
            await saveBindings([...list.items(), { action: a, display_name: a.name }]);
            toast(`Added ${a.name} to ${trigger.name}.`);
            draw();
            const sel = document.getElementById(`bind-${trigger.id}`);
            (sel || section.querySelector('li:last-child') || section).focus();
          } catch (err) {
            toast(`Could not add it: ${err.message}`, 'error');
          }
        },
      }, field('Add an action', select), h('button', { type: 'submit', class: 'button' }, 'Add to flow')));
    }
    holder.replaceChildren(...parts);
  }
  section.querySelector('h2').tabIndex = -1;
  draw();
}

// ---------------------------------------------------------------------------------------
// One action

async function renderAction(main, params) {
  const isNew = !params.id;
  let action = isNew
    ? { id: '', name: '', code: starter('post-login'), supported_triggers: [{ id: 'post-login' }], all_changes_deployed: false }
    : await api('GET', `/actions/actions/${encodeURIComponent(params.id)}`);
  let saved = { name: action.name, code: action.code };
  const canSave = isNew ? hasScope('create:actions') : hasScope('update:actions');

  const title = h('h1', {}, isNew ? 'New action' : `Action: ${action.name}`);
  if (!isNew) document.title = `${action.name} · latch admin`;
  const nameInput = h('input', { type: 'text', id: 'action-name', value: action.name, required: true, autocomplete: 'off', disabled: !canSave });
  const triggerSelect = isNew
    ? h('select', { id: 'action-trigger' }, TRIGGERS.map((t) => h('option', { value: t.id }, t.name)))
    : null;
  const errorEl = h('div', { id: 'action-error', class: 'rule-error', role: 'alert', hidden: true });
  const status = h('span', { id: 'action-status', class: 'muted', 'aria-live': 'polite' });
  const badge = h('span', {}, isNew ? null : statusBadge(action));
  const editor = codeEditor({ id: 'action-code', value: action.code, describedBy: 'action-editor-help action-error' });
  if (!canSave) editor.textarea.readOnly = true;

  const dirty = () => nameInput.value !== saved.name || editor.value() !== saved.code;
  const updateStatus = () => { status.textContent = dirty() ? 'Unsaved changes' : (action.id ? 'Saved' : 'Not saved yet'); };
  nameInput.addEventListener('input', updateStatus);
  editor.onChange(updateStatus);
  updateStatus();
  if (triggerSelect) {
    triggerSelect.addEventListener('change', () => {
      if (editor.value() === saved.code) {
        editor.setValue(starter(triggerSelect.value));
        saved.code = editor.value();
      }
    });
  }
  const lc = window.latchConsole;
  lc.guard = () => (dirty() ? 'This action has changes that are not saved. Leave without saving them?' : null);

  function showError(err) {
    const ce = err instanceof ApiError && err.status === 400 ? compileError(err.message) : null;
    errorEl.hidden = false;
    errorEl.textContent = ce ? ce.text : err.message;
    if (ce) {
      editor.markError(ce.line);
      editor.goTo(ce.line, ce.column);
    }
  }
  function clearError() {
    errorEl.hidden = true;
    errorEl.textContent = '';
    editor.clearError();
  }

  async function save(e) {
    if (e) e.preventDefault();
    if (!canSave) return false;
    try {
      if (!action.id) {
        action = await api('POST', '/actions/actions', {
          name: nameInput.value.trim(), code: editor.value(), runtime: 'node18',
          supported_triggers: [{ id: triggerSelect.value }],
        });
        lc.replace(`/actions/${encodeURIComponent(action.id)}`);
        deployBtn.hidden = false;
      } else {
        const body = {};
        if (nameInput.value.trim() !== saved.name) body.name = nameInput.value.trim();
        if (editor.value() !== saved.code) body.code = editor.value();
        if (Object.keys(body).length) action = await api('PATCH', `/actions/actions/${encodeURIComponent(action.id)}`, body);
      }
      saved = { name: action.name, code: action.code };
      title.textContent = `Action: ${action.name}`;
      badge.replaceChildren(statusBadge(action));
      clearError();
      // latch keeps one version per action: a deployed action runs its saved code at once.
      toast(action.all_changes_deployed
        ? `Saved ${action.name}; its triggers run the new code from now on.`
        : `Saved ${action.name}. Deploy it to add it to a trigger's flow.`);
      return true;
    } catch (err) {
      showError(err);
      return false;
    } finally {
      updateStatus();
    }
  }

  async function deploy() {
    if (dirty() && !(await save())) return;
    try {
      await api('POST', `/actions/actions/${encodeURIComponent(action.id)}/deploy`);
      action = await api('GET', `/actions/actions/${encodeURIComponent(action.id)}`);
      badge.replaceChildren(statusBadge(action));
      toast(`Deployed ${action.name}.`);
    } catch (err) {
      showError(err);
    }
  }

  async function remove() {
    if (!(await confirmDialog(`Delete the action ${action.name}? It is removed from every flow it is in.`, { confirmLabel: 'Delete action' }))) return;
    try {
      await api('DELETE', `/actions/actions/${encodeURIComponent(action.id)}?force=true`);
      lc.guard = null;
      toast(`Deleted ${action.name}.`);
      lc.navigate('/actions');
    } catch (err) {
      toast(`Could not delete it: ${err.message}`, 'error');
    }
  }

  const deployBtn = h('button', { type: 'button', class: 'button', id: 'action-deploy', hidden: isNew || !hasScope('create:actions'), onclick: deploy }, 'Deploy');
  const form = h('form', { id: 'action-form', onsubmit: save, novalidate: true },
    field('Name', nameInput),
    triggerSelect ? field('Trigger', triggerSelect) : h('p', {}, 'Triggers: ', action.supported_triggers.map((t) => t.id).join(', '), ' ', badge),
    h('label', { for: 'action-code' }, h('strong', {}, 'Code')),
    h('p', { class: 'hint', id: 'action-editor-help' }, 'Tab inserts two spaces. To leave the editor with the keyboard, press Escape, then Tab.'),
    editor.el,
    errorEl,
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'button primary', id: 'action-save', disabled: !canSave }, 'Save'),
      deployBtn, status, h('span', { class: 'spacer' }),
      !isNew && hasScope('delete:actions') ? h('button', { type: 'button', class: 'button danger', onclick: remove }, 'Delete action') : null));
  main.append(h('p', {}, h('a', { href: '#/actions' }, '← All actions')), title, form);
  return () => { lc.guard = null; };
}

export const routes = [
  { path: '/actions', nav: 'Actions', title: 'Actions', scope: 'read:actions', render: renderList },
  { path: '/actions/new', title: 'New action', scope: 'create:actions', render: (main) => renderAction(main, {}) },
  { path: '/actions/:id', title: 'Action', scope: 'read:actions', render: renderAction },
];
