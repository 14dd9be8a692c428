// editor.js: the code editor of rules and actions. A plain <textarea> keeps everything a
// browser gives text input (undo, selection, IME, screen readers, spell-check off); its text
// is transparent and a highlighted copy (highlight.js) sits underneath, moved with the
// textarea's scroll, with a gutter of line numbers beside it.

import { h } from './ui.js';
import { highlight } from './highlight.js';

const INDENT = '  ';

/**
 * codeEditor makes the editor. id names the textarea (label it with <label for=id>);
 * describedBy lists the ids of help and error texts. It returns
 * {el, textarea, value(), setValue(s), onChange(fn), markError(line, message), clearError(),
 * goTo(line, column)}.
 */
export function codeEditor({ id, value = '', describedBy = '', rows = 20 } = {}) {
  const ta = h('textarea', {
    id, rows, wrap: 'off', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    autocorrect: 'off', 'aria-describedby': describedBy || null, 'aria-multiline': 'true',
  });
  ta.value = value;
  const code = h('code', { class: 'code-layer' });
  const pre = h('pre', { class: 'code-highlight', 'aria-hidden': 'true' }, code);
  const lines = h('div', { class: 'lines' });
  const gutter = h('div', { class: 'code-gutter', 'data-testid': 'gutter' }, lines);
  const el = h('div', { class: 'code-editor' }, gutter, h('div', { class: 'code-area' }, pre, ta));

  let lineCount = 0;
  let errorLine = 0;
  let marker = null;
  let scheduled = false;
  let escaped = false;
  const listeners = [];

  function renderGutter() {
    const count = ta.value.split('\n').length;
    if (count === lineCount) return;
    lineCount = count;
    const frag = document.createDocumentFragment();
    for (let i = 1; i <= count; i += 1) {
      frag.appendChild(h('span', { class: 'ln', 'data-line': i, 'aria-hidden': 'true' }, String(i)));
    }
    lines.replaceChildren(frag);
    if (errorLine) paintError();
  }

  function renderCode() {
    // The trailing newline gives a last empty line its height, as the textarea has it.
    code.replaceChildren(highlight(`${ta.value}\n`));
    if (marker) code.prepend(marker);
  }

  function render() {
    scheduled = false;
    renderCode();
    renderGutter();
    sync();
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  }

  function sync() {
    const x = ta.scrollLeft;
    const y = ta.scrollTop;
    code.style.transform = `translate(${-x}px, ${-y}px)`;
    lines.style.transform = `translateY(${-y}px)`;
  }

  function lineHeight() {
    return parseFloat(getComputedStyle(ta).lineHeight) || 20;
  }

  function insert(text) {
    ta.focus();
    // execCommand keeps the browser's undo history; setRangeText is the fallback.
    if (!document.execCommand || !document.execCommand('insertText', false, text)) {
      ta.setRangeText(text, ta.selectionStart, ta.selectionEnd, 'end');
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }

  ta.addEventListener('input', () => {
    schedule();
    for (const fn of listeners) fn(ta.value);
  });
  ta.addEventListener('scroll', sync);
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      escaped = true;
      return;
    }
    if (e.key === 'Tab' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      if (escaped) {
        escaped = false;
        return; // the browser moves focus on
      }
      e.preventDefault();
      insert(INDENT);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      // Keep the indentation of the line, one step more after an opening brace.
      const before = ta.value.slice(0, ta.selectionStart);
      const line = before.slice(before.lastIndexOf('\n') + 1);
      let indent = /^\s*/.exec(line)[0];
      if (/[{[(]\s*$/.test(line)) indent += INDENT;
      e.preventDefault();
      insert(`\n${indent}`);
    }
    if (e.key !== 'Shift') escaped = false;
  });

  function paintError() {
    for (const s of lines.querySelectorAll('.has-error')) {
      s.classList.remove('has-error');
      s.setAttribute('aria-hidden', 'true');
      s.removeAttribute('aria-label');
      s.removeAttribute('role');
      s.removeAttribute('title');
    }
    if (!errorLine) return;
    const s = lines.querySelector(`[data-line="${errorLine}"]`);
    if (s) {
      s.classList.add('has-error');
      s.removeAttribute('aria-hidden');
      s.setAttribute('role', 'img');
      s.setAttribute('aria-label', `Line ${errorLine} has an error`);
      s.title = `Line ${errorLine} has an error`;
    }
  }

  function markError(line) {
    errorLine = Math.max(1, Math.min(line, ta.value.split('\n').length));
    ta.setAttribute('aria-invalid', 'true');
    marker = h('span', { class: 'err-marker', 'aria-hidden': 'true' });
    marker.style.top = `${(errorLine - 1) * lineHeight()}px`;
    marker.style.height = `${lineHeight()}px`;
    renderCode();
    paintError();
  }

  function clearError() {
    errorLine = 0;
    marker = null;
    ta.removeAttribute('aria-invalid');
    renderCode();
    paintError();
  }

  function goTo(line, column = 1) {
    const all = ta.value.split('\n');
    const l = Math.max(1, Math.min(line, all.length));
    let off = 0;
    for (let i = 0; i < l - 1; i += 1) off += all[i].length + 1;
    off += Math.max(0, Math.min(column - 1, all[l - 1].length));
    ta.focus();
    ta.setSelectionRange(off, off);
    ta.scrollTop = Math.max(0, (l - 1) * lineHeight() - ta.clientHeight / 3);
    sync();
  }

  render();
  return {
    el,
    textarea: ta,
    value: () => ta.value,
    setValue(s) {
      ta.value = s;
      render();
    },
    onChange(fn) { listeners.push(fn); },
    markError,
    clearError,
    goTo,
    errorLine: () => errorLine,
  };
}
