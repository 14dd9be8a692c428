// ui.js: the console's small DOM toolkit. Everything that puts data on the page goes through
// h(), which makes text nodes of strings, so that a user's name or a rule's output can never
// become markup (the console never assigns innerHTML).

let idSeq = 0;

/** uid returns a fresh element id with the given prefix, for label/aria wiring. */
export function uid(prefix = 'ui') {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

// Properties set as DOM properties rather than attributes, so that they reflect the live
// state (a checkbox's checked, an input's value) and not only the initial one.
const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'indeterminate', 'hidden', 'multiple', 'readOnly']);

/**
 * h builds an element: h('button', {class: 'primary', onclick: save}, 'Save').
 * attrs: class, id, for, type, value, aria-*, data-*, role, on<event> handlers, and any other
 * attribute; true sets an empty attribute, false/null/undefined leave it out.
 * children: strings and numbers become text nodes, arrays are flattened, null/false skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (name.startsWith('on') && typeof v === 'function') {
      el.addEventListener(name.slice(2).toLowerCase(), v);
    } else if (name === 'class') {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    } else if (name === 'for') {
      el.htmlFor = v;
    } else if (name === 'readonly') {
      el.readOnly = true;
    } else if (PROPS.has(name)) {
      el[name] = v;
      if (v === true) el.setAttribute(name, '');
    } else if (name === 'style') {
      // CSP forbids style attributes written as markup; style from JS is an object.
      Object.assign(el.style, v);
    } else {
      el.setAttribute(name, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/**
 * confirmDialog asks a yes/no question in a modal <dialog>. It resolves true when the admin
 * confirms, false on Cancel or Escape; focus goes back to where it was.
 */
export function confirmDialog(message, { confirmLabel = 'Delete', danger = true, cancelLabel = 'Cancel', title = 'Please confirm' } = {}) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const titleId = uid('dialog-title');
    const msgId = uid('dialog-msg');
    let answer = false;
    const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'confirm-cancel', onclick: () => dlg.close() }, cancelLabel);
    const ok = h('button', {
      type: 'button', class: danger ? 'button danger' : 'button primary', 'data-testid': 'confirm-ok',
      onclick: () => { answer = true; dlg.close(); },
    }, confirmLabel);
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': titleId, 'aria-describedby': msgId },
      h('h2', { id: titleId }, title),
      h('p', { id: msgId }, message),
      h('div', { class: 'actions' }, cancel, ok));
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (back && typeof back.focus === 'function' && back.isConnected) back.focus();
      resolve(answer);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    // A destructive action starts on Cancel, so that Enter does not destroy by accident.
    (danger ? cancel : ok).focus();
  });
}

function toastRegion(kind) {
  const id = kind === 'error' ? 'toasts-error' : 'toasts';
  let region = document.getElementById(id);
  if (!region) {
    region = h('div', kind === 'error'
      ? { id, class: 'toasts errors', role: 'alert', 'aria-live': 'assertive' }
      : { id, class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(region);
  }
  return region;
}

/** toast shows a short message in an aria-live region; errors stay longer and are assertive. */
export function toast(message, kind = 'info') {
  const region = toastRegion(kind);
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const item = h('div', { class: `toast ${kind}` }, h('span', {}, message), close);
  close.addEventListener('click', () => item.remove());
  region.appendChild(item);
  setTimeout(() => item.remove(), kind === 'error' ? 12000 : 5000);
  return item;
}

/** lineOfJSONError finds the 1-based line that JSON.parse's message points at. */
function lineOfJSONError(text, message) {
  const m = /line (\d+)/i.exec(message);
  if (m) return Number(m[1]);
  const p = /position (\d+)/i.exec(message);
  if (p) return text.slice(0, Number(p[1])).split('\n').length;
  return 1;
}

/**
 * jsonEditor is a labelled textarea for a JSON value. read() parses it and says where it is
 * wrong: {ok: true, value} or {ok: false, error, line}; the error is also shown under it.
 */
export function jsonEditor({ label, value, rows = 10, id } = {}) {
  const taId = id || uid('json');
  const errId = `${taId}-error`;
  const ta = h('textarea', {
    id: taId, class: 'json', rows, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    'aria-describedby': errId,
  });
  ta.value = value === undefined ? '' : JSON.stringify(value, null, 2);
  const err = h('p', { id: errId, class: 'field-error', hidden: true });
  const el = h('div', { class: 'field json-editor' }, h('label', { for: taId }, label), ta, err);
  function read() {
    const text = ta.value.trim() === '' ? 'null' : ta.value;
    try {
      const v = JSON.parse(text);
      ta.removeAttribute('aria-invalid');
      err.hidden = true;
      err.textContent = '';
      return { ok: true, value: v };
    } catch (e) {
      const line = lineOfJSONError(text, e.message);
      ta.setAttribute('aria-invalid', 'true');
      err.hidden = false;
      err.textContent = `Not valid JSON (line ${line}): ${e.message}`;
      return { ok: false, error: e.message, line };
    }
  }
  return { el, textarea: ta, read, set: (v) => { ta.value = JSON.stringify(v, null, 2); } };
}

/** formatTime renders an ISO time for people, in their locale; '—' when there is none. */
export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/**
 * field wraps a control with its label. A checkbox or radio gets its label after it; the
 * control is given an id when it has none.
 */
export function field(label, input, { hint } = {}) {
  if (!input.id) input.id = uid('f');
  const lab = h('label', { for: input.id }, label);
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${input.id}-hint` }, hint);
    const d = input.getAttribute('aria-describedby');
    input.setAttribute('aria-describedby', d ? `${d} ${hintEl.id}` : hintEl.id);
  }
  const box = input.type === 'checkbox' || input.type === 'radio';
  return h('div', { class: box ? 'field check' : 'field' }, box ? [input, lab] : [lab, input], hintEl);
}

/**
 * pager renders Previous/Next for a 0-based page (the Management API's paging).
 * total may be undefined when the API did not count: Next is then enabled while a full page came.
 */
export function pager({ page, perPage, total, onPage, count }) {
  const pages = total === undefined ? undefined : Math.max(1, Math.ceil(total / perPage));
  const hasNext = pages === undefined ? count === perPage : page + 1 < pages;
  const prev = h('button', { type: 'button', class: 'button', 'data-testid': 'pager-prev', disabled: page <= 0, onclick: () => onPage(page - 1) }, 'Previous');
  const next = h('button', { type: 'button', class: 'button', 'data-testid': 'pager-next', disabled: !hasNext, onclick: () => onPage(page + 1) }, 'Next');
  const status = pages === undefined
    ? `Page ${page + 1}`
    : `Page ${page + 1} of ${pages} (${total} in all)`;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, h('span', { class: 'pager-status', 'aria-live': 'polite' }, status), next);
}

/** emptyState says that a list has nothing to show. */
export function emptyState(text) {
  return h('p', { class: 'empty' }, text);
}

/** errorBox shows an error (an ApiError or any Error) as an alert. */
export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  const code = err && (err.errorCode || err.error);
  return h('div', { class: 'error-box', role: 'alert' },
    h('strong', {}, err && err.status ? `Error ${err.status}` : 'Error'),
    ' ', msg,
    code ? h('span', { class: 'error-code' }, ` (${code})`) : null);
}

/** announce reads a short message to screen readers without showing a toast. */
export function announce(message) {
  let region = document.getElementById('announcer');
  if (!region) {
    region = h('div', { id: 'announcer', class: 'visually-hidden', 'aria-live': 'polite' });
    document.body.appendChild(region);
  }
  region.textContent = '';
  // A change in a later task is announced even when the text repeats.
  setTimeout(() => { region.textContent = message; }, 50);
}

/**
 * dataTable renders rows in a table inside a scroll box: narrow screens scroll the table
 * sideways instead of squeezing its columns, and the box is focusable so that keyboard users
 * can scroll it too. columns: [{label, cell: (row) => node|string, class?}].
 */
export function dataTable({ id, caption, columns, rows, rowAttrs }) {
  const table = h('table', { id, class: 'data' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {},
      columns.map((c) => h('td', { class: c.class }, c.cell(r)))))));
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': caption }, table);
}

/**
 * fill replaces an element's children. Unlike replaceChildren, which would show null as the
 * text "null", it skips null, undefined and false, as h() does, and flattens arrays.
 */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

/**
 * definitionList renders [label, value, id?] entries (value a string or a node) as a <dl>;
 * the id goes on the value's <dd>. Falsy entries are skipped.
 */
export function definitionList(pairs, attrs = {}) {
  return h('dl', { class: ['props', attrs.class].filter(Boolean).join(' '), id: attrs.id },
    pairs.filter(Boolean).map(([k, v, id]) => h('div', { class: 'prop' },
      h('dt', {}, k), h('dd', { id }, v === undefined || v === null || v === '' ? '—' : v))));
}

/** loading shows a busy note in main while a screen fetches. */
export function loading(main, what) {
  fill(main, h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`));
}

/**
 * goQuery shows the current screen again with new filters in the address (#/path?a=b), so
 * that a reload, a bookmark or the back button comes back to the same list. When the address
 * would not change (the same search again), reload is called instead.
 */
export function goQuery(params, reload) {
  const path = location.hash.split('?')[0] || '#/';
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '' && !(k === 'page' && Number(v) === 0)) qs.set(k, String(v));
  }
  const s = qs.toString();
  const next = path + (s ? `?${s}` : '');
  if (next === location.hash) reload();
  else location.hash = next;
}

/** code renders a value in monospace. */
export function code(text) {
  return h('code', {}, text);
}
