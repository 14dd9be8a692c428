// keys.js: the signing keys (GET /keys/signing): which one signs now, which is published
// to sign next, which still verify older tokens; rotate, and revoke a previous key.

import { h, confirmDialog, toast, emptyState, errorBox, formatTime, dataTable, code, fill } from '../ui.js';
import { api } from '../api.js';
import { hasScope } from '../auth.js';

function state(k) {
  if (k.revoked) return 'revoked';
  if (k.current) return 'current';
  if (k.next) return 'next';
  if (k.previous) return 'previous';
  return 'unknown';
}

const STATE_TEXT = {
  current: ['Current', 'signs new tokens'],
  next: ['Next', 'published; signs after the next rotation'],
  previous: ['Previous', 'verifies the tokens it signed'],
  revoked: ['Revoked', 'verifies nothing'],
  unknown: ['Unknown', ''],
};

function stateCell(k) {
  const [name, note] = STATE_TEXT[state(k)];
  return h('span', { class: 'key-state' }, h('span', { class: `badge key-${state(k)}` }, name), h('span', { class: 'hint' }, note));
}

function when(iso) {
  return h('span', { class: 'nowrap' }, iso ? formatTime(iso) : '—');
}

async function rotate(btn, reload) {
  const ok = await confirmDialog(
    'Rotate the signing key? The next key (already published in the JWKS) starts signing new tokens; the current key becomes previous and keeps verifying the tokens it signed until you revoke it. Nobody is logged out.',
    { confirmLabel: 'Rotate key', danger: false, title: 'Rotate the signing key?' });
  if (!ok) return;
  btn.disabled = true;
  try {
    const r = await api('POST', '/keys/signing/rotate');
    toast(`Rotated: key ${r.kid} signs new tokens now.`);
    await reload(r.kid);
  } catch (e) {
    toast(e.message, 'error');
  } finally {
    btn.disabled = false;
  }
}

async function revoke(k, reload) {
  const ok = await confirmDialog(
    `Revoke key ${k.kid}? It leaves the JWKS at once: every token it signed that has not expired yet — ID tokens, access tokens — stops verifying, so apps and APIs refuse them and users must log in again. Use this when the key may have leaked. It cannot be undone. If your own console sign-in was signed with this key, the console signs you in again.`,
    { confirmLabel: 'Revoke key', title: 'Revoke this signing key?' });
  if (!ok) return;
  try {
    await api('PUT', `/keys/signing/${encodeURIComponent(k.kid)}/revoke`);
    toast(`Revoked key ${k.kid}.`);
    await reload();
  } catch (e) {
    toast(e.message, 'error');
  }
}

async function renderKeys(main) {
  const canRotate = hasScope('create:signing_keys') || hasScope('update:signing_keys');
  const canRevoke = hasScope('update:signing_keys');
  const list = h('div', { id: 'keys-list' }, h('p', { class: 'loading', role: 'status' }, 'Loading the signing keys…'));
  const summary = h('p', { id: 'keys-summary', role: 'status' });
  const rotateBtn = h('button', { type: 'button', class: 'button primary', id: 'keys-rotate' }, 'Rotate signing key');
  rotateBtn.addEventListener('click', () => rotate(rotateBtn, load));

  async function load(fresh) {
    let keys;
    try {
      keys = await api('GET', '/keys/signing');
    } catch (e) {
      fill(list, errorBox(e));
      return;
    }
    const current = keys.find((k) => k.current);
    fill(summary, current
      ? h('span', {}, 'Signing with ', h('code', { id: 'keys-current-kid' }, current.kid), '.')
      : 'No key signs at the moment.');
    if (keys.length === 0) {
      fill(list, emptyState('No signing keys yet.'));
      return;
    }
    fill(list, dataTable({
      id: 'keys-table', caption: 'Signing keys',
      columns: [
        { label: 'Key ID (kid)', class: 'kid', cell: (k) => h('span', {}, code(k.kid), k.kid === fresh ? h('span', { class: 'badge ok' }, 'new') : null) },
        { label: 'State', cell: stateCell },
        { label: 'Current since', cell: (k) => when(k.current_since) },
        { label: 'Current until', cell: (k) => when(k.current_until) },
        { label: 'Revoked', cell: (k) => when(k.revoked_at) },
        { label: 'Fingerprint (SHA-1)', class: 'fingerprint', cell: (k) => code(k.fingerprint) },
        {
          label: 'Actions',
          cell: (k) => (k.previous && canRevoke
            ? h('button', { type: 'button', class: 'button danger small', 'data-testid': `revoke-${k.kid}`, 'aria-label': `Revoke key ${k.kid}`, onclick: () => revoke(k, load) }, 'Revoke')
            : ''),
        },
      ],
      rows: keys,
      rowAttrs: (k) => ({ 'data-kid': k.kid, 'data-state': state(k) }),
    }));
  }

  fill(main,
    h('div', { class: 'screen-head' }, h('h1', {}, 'Signing keys'), canRotate ? rotateBtn : null),
    h('p', { class: 'lede' }, 'latch signs ID and access tokens with RS256. The next key is published in the JWKS before it signs, so apps already know it when it takes over; previous keys keep verifying the tokens they signed until revoked.'),
    summary, list);
  await load();
}

export const routes = [
  { path: '/keys', nav: 'Keys', title: 'Signing keys', scope: 'read:signing_keys', render: renderKeys },
];
