// reorder.js: an ordered list that people reorder by dragging a row, with Move up / Move down
// buttons, or with Alt+ArrowUp / Alt+ArrowDown on a focused row. It is used for the rules'
// pipeline and for the actions of a trigger. Saves run one after another, in order.

import { h, announce } from './ui.js';

/**
 * reorderable builds the list. keyOf(item) is a stable key, nameOf(item) a name for
 * announcements, renderRow(item, index, moveButtons) returns the row's children, and
 * save(items) persists a new order (a Promise; on failure the caller reloads). canMove says
 * whether this admin may reorder.
 */
export function reorderable({ id, label, items, keyOf, nameOf, renderRow, save, canMove = true }) {
  let list = [...items];
  let dragKey = null;
  let queue = Promise.resolve();
  const ol = h('ol', { class: 'ordered', id, 'aria-label': label });

  function moveButtons(item, index) {
    if (!canMove) return [];
    const name = nameOf(item);
    return [
      h('button', {
        type: 'button', class: 'button small', 'data-move': 'up', 'aria-label': `Move ${name} up`,
        disabled: index === 0, onclick: () => move(index, index - 1, 'up'),
      }, '↑', h('span', { class: 'move-text' }, ' Up')),
      h('button', {
        type: 'button', class: 'button small', 'data-move': 'down', 'aria-label': `Move ${name} down`,
        disabled: index === list.length - 1, onclick: () => move(index, index + 1, 'down'),
      }, '↓', h('span', { class: 'move-text' }, ' Down')),
    ];
  }

  function render() {
    ol.replaceChildren(...list.map((item, index) => {
      const li = h('li', {
        tabindex: '0', 'data-key': keyOf(item), 'data-index': index,
        'aria-label': `${nameOf(item)}, position ${index + 1} of ${list.length}`,
        draggable: canMove ? 'true' : null,
      },
      canMove ? h('span', { class: 'drag-handle', 'aria-hidden': 'true', title: 'Drag to reorder' }, '⠿') : null,
      h('span', { class: 'position', 'aria-hidden': 'true' }, `${index + 1}.`),
      renderRow(item, index, moveButtons(item, index)));
      return li;
    }));
  }

  function focusAfterMove(key, how) {
    const li = ol.querySelector(`li[data-key="${CSS.escape(key)}"]`);
    if (!li) return;
    if (how === 'up' || how === 'down') {
      const btn = li.querySelector(`button[data-move="${how}"]`);
      const other = li.querySelector(`button[data-move="${how === 'up' ? 'down' : 'up'}"]`);
      if (btn && !btn.disabled) btn.focus();
      else if (other) other.focus();
      else li.focus();
    } else {
      li.focus();
    }
  }

  function move(from, to, how) {
    if (!canMove || to < 0 || to >= list.length || from === to) return;
    const next = [...list];
    const [item] = next.splice(from, 1);
    next.splice(to, 0, item);
    list = next;
    render();
    focusAfterMove(keyOf(item), how);
    announce(`${nameOf(item)} moved to position ${to + 1} of ${list.length}.`);
    const snapshot = [...list];
    ol.setAttribute('aria-busy', 'true');
    queue = queue.then(() => save(snapshot)).catch(() => {}).finally(() => {
      ol.removeAttribute('aria-busy');
    });
  }

  ol.addEventListener('keydown', (e) => {
    if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
    const li = e.target.closest('li[data-key]');
    if (!li) return;
    e.preventDefault();
    const from = Number(li.dataset.index);
    move(from, e.key === 'ArrowUp' ? from - 1 : from + 1, 'row');
  });

  function clearDrop() {
    for (const li of ol.querySelectorAll('.drop-before, .drop-after')) li.classList.remove('drop-before', 'drop-after');
  }
  ol.addEventListener('dragstart', (e) => {
    const li = e.target.closest && e.target.closest('li[data-key]');
    if (!li || !canMove) return;
    dragKey = li.dataset.key;
    li.classList.add('dragging');
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', nameOf(list[Number(li.dataset.index)]));
  });
  ol.addEventListener('dragover', (e) => {
    if (dragKey === null) return;
    const li = e.target.closest('li[data-key]');
    if (!li) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    clearDrop();
    const r = li.getBoundingClientRect();
    li.classList.add(e.clientY < r.top + r.height / 2 ? 'drop-before' : 'drop-after');
  });
  ol.addEventListener('drop', (e) => {
    if (dragKey === null) return;
    e.preventDefault();
    const li = e.target.closest('li[data-key]');
    const from = list.findIndex((x) => keyOf(x) === dragKey);
    if (li && from >= 0) {
      const target = Number(li.dataset.index);
      const r = li.getBoundingClientRect();
      let to = e.clientY < r.top + r.height / 2 ? target : target + 1;
      if (from < to) to -= 1;
      move(from, to, 'row');
    }
    clearDrop();
  });
  ol.addEventListener('dragend', () => {
    dragKey = null;
    clearDrop();
    for (const li of ol.querySelectorAll('.dragging')) li.classList.remove('dragging');
  });

  render();
  return {
    el: ol,
    items: () => [...list],
    setItems(next) {
      list = [...next];
      render();
    },
    idle: () => queue,
  };
}
