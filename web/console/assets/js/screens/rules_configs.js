// rules_configs.js: the rules secrets (rules-configs). Values are write-only: the API never
// returns them, and the page never shows one — inputs are password fields, emptied on save.

import { api } from '../api.js';
import { hasScope } from '../auth.js';
import { h, confirmDialog, toast, field, emptyState, errorBox, announce } from '../ui.js';

const KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

function valueInput(id, label) {
  return h('input', {
    type: 'password', id, autocomplete: 'new-password', spellcheck: 'false', 'aria-label': label || null, maxlength: '4096',
  });
}

async function render(main) {
  const canSet = hasScope('update:rules_configs');
  const canDelete = hasScope('delete:rules_configs');
  main.append(
    h('h1', {}, 'Rules secrets'),
    h('p', { class: 'hint' }, 'Rules read these as ', h('code', {}, 'configuration.KEY'), ' and actions as ', h('code', {}, 'event.secrets.KEY'),
      '. Values are write-only: once saved, latch never shows them again, here or in the API. To change one, replace it.'));

  const listHolder = h('div', { id: 'secrets' });
  let keys = [];

  async function put(key, value) {
    await api('PUT', `/rules-configs/${encodeURIComponent(key)}`, { value });
  }

  if (canSet) {
    const keyInput = h('input', { type: 'text', id: 'secret-key', autocomplete: 'off', spellcheck: 'false', maxlength: '128', required: true });
    const value = valueInput('secret-value');
    const err = h('p', { class: 'field-error', id: 'secret-add-error', role: 'alert' });
    const form = h('form', {
      id: 'secret-add', class: 'card', novalidate: true, 'aria-labelledby': 'secret-add-title',
      async onsubmit(e) {
        e.preventDefault();
        err.textContent = '';
        const key = keyInput.value.trim();
        if (!KEY_PATTERN.test(key)) {
          err.textContent = 'The key may use letters, digits, “_” and “-” only (at most 128).';
          keyInput.setAttribute('aria-invalid', 'true');
          keyInput.focus();
          return;
        }
        keyInput.removeAttribute('aria-invalid');
        if (value.value === '') {
          err.textContent = 'Type a value.';
          value.focus();
          return;
        }
        if (keys.includes(key) && !(await confirmDialog(`A secret named ${key} exists. Replace its value?`, { confirmLabel: 'Replace value' }))) return;
        try {
          await put(key, value.value);
          value.value = '';
          keyInput.value = '';
          toast(`Saved the secret ${key}.`);
          await load();
          keyInput.focus();
        } catch (e2) {
          err.textContent = e2.message;
        }
      },
    },
    h('h2', { id: 'secret-add-title' }, 'Add a secret'),
    field('Key', keyInput, { hint: 'Letters, digits, “_” and “-”, e.g. SLACK_WEBHOOK.' }),
    field('Value', value, { hint: 'Stored sealed. It will not be shown again.' }),
    err,
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'button primary', id: 'secret-add-button' }, 'Add secret')));
    main.append(form);
  }
  main.append(h('h2', {}, 'Secrets'), listHolder);

  function row(key) {
    const actions = h('span', { class: 'item-actions' });
    const tr = h('tr', { 'data-key': key }, h('th', { scope: 'row' }, h('code', {}, key)), h('td', {}, h('span', { class: 'muted' }, 'hidden')), h('td', {}, actions));
    if (canSet) {
      const replace = h('button', { type: 'button', class: 'button small', 'data-testid': 'secret-replace', 'aria-label': `Replace the value of ${key}` }, 'Replace value');
      replace.addEventListener('click', () => openReplace(key, tr, replace));
      actions.append(replace);
    }
    if (canDelete) {
      const del = h('button', { type: 'button', class: 'button small danger', 'data-testid': 'secret-delete', 'aria-label': `Delete ${key}` }, 'Delete');
      del.addEventListener('click', async () => {
        if (!(await confirmDialog(`Delete the secret ${key}? Rules that read configuration.${key} get undefined from now on.`, { confirmLabel: 'Delete secret' }))) return;
        try {
          await api('DELETE', `/rules-configs/${encodeURIComponent(key)}`);
          toast(`Deleted the secret ${key}.`);
          await load();
          (document.getElementById('secret-key') || document.getElementById('main')).focus();
        } catch (e) {
          toast(`Could not delete ${key}: ${e.message}`, 'error');
        }
      });
      actions.append(del);
    }
    return tr;
  }

  function openReplace(key, tr, button) {
    const input = valueInput(`secret-replace-${key}`, `New value of ${key}`);
    const cell = tr.children[1];
    const cancel = () => {
      cell.replaceChildren(h('span', { class: 'muted' }, 'hidden'));
      button.hidden = false;
      button.focus();
    };
    const form = h('form', {
      class: 'inline-form', novalidate: true,
      async onsubmit(e) {
        e.preventDefault();
        if (input.value === '') {
          input.focus();
          return;
        }
        try {
          await put(key, input.value);
          input.value = '';
          toast(`Replaced the value of ${key}.`);
          cancel();
          announce(`Replaced the value of ${key}.`);
        } catch (e2) {
          toast(`Could not replace ${key}: ${e2.message}`, 'error');
        }
      },
    }, input,
    h('button', { type: 'submit', class: 'button small primary' }, 'Save'),
    h('button', { type: 'button', class: 'button small', onclick: cancel }, 'Cancel'));
    form.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        cancel();
      }
    });
    button.hidden = true;
    cell.replaceChildren(form);
    input.focus();
  }

  async function load() {
    try {
      const list = await api('GET', '/rules-configs');
      keys = list.map((x) => x.key).sort();
      if (keys.length === 0) {
        listHolder.replaceChildren(emptyState('No secrets yet.'));
        return;
      }
      listHolder.replaceChildren(h('table', { class: 'data', id: 'secrets-table' },
        h('caption', { class: 'visually-hidden' }, 'Rules secrets'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        h('tbody', {}, keys.map(row))));
    } catch (e) {
      listHolder.replaceChildren(errorBox(e));
    }
  }
  await load();
}

export const routes = [
  { path: '/rules-configs', nav: 'Rules secrets', title: 'Rules secrets', scope: 'read:rules_configs', render },
];
