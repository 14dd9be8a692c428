// highlight.js: a small JavaScript tokenizer for the rule editor. It knows comments,
// strings, template literals (with ${...} nesting), numbers, keywords, literals and regular
// expression literals, which is all a reader needs to see a rule's shape. It is not a
// parser: unknown text is plain, and a token never spans past the end of the source.

const KEYWORDS = new Set(`async await break case catch class const continue debugger default delete do else export
extends finally for function if import in instanceof let new of return static super switch this throw try typeof
var void while with yield`.split(/\s+/));
const LITERALS = new Set(['true', 'false', 'null', 'undefined', 'NaN', 'Infinity']);

// After these keywords a '/' starts a regular expression, not a division.
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

const ID_START = /[A-Za-z_$\u00a0-\uffff]/;
const ID_PART = /[A-Za-z0-9_$\u00a0-\uffff]/;

/**
 * tokenize splits JavaScript source into tokens {type, text}; type is one of comment, string,
 * template, number, keyword, literal, regex or plain. Joining the texts gives the source back.
 */
export function tokenize(src) {
  const out = [];
  let i = 0;
  let plainStart = 0;
  let prevSignificant = ''; // the last non-space, non-comment token: decides what '/' means
  const n = src.length;

  const flushPlain = (end) => {
    if (end > plainStart) out.push({ type: 'plain', text: src.slice(plainStart, end) });
  };
  const push = (type, start, end) => {
    flushPlain(start);
    out.push({ type, text: src.slice(start, end) });
    plainStart = end;
  };

  while (i < n) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      let j = src.indexOf('\n', i);
      if (j < 0) j = n;
      push('comment', i, j);
      i = j;
      continue;
    }
    if (c === '/' && next === '*') {
      let j = src.indexOf('*/', i + 2);
      j = j < 0 ? n : j + 2;
      push('comment', i, j);
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      const j = scanQuoted(src, i, c);
      push('string', i, j);
      prevSignificant = 'value';
      i = j;
      continue;
    }
    if (c === '`') {
      const j = scanTemplate(src, i);
      push('template', i, j);
      prevSignificant = 'value';
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next || ''))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(src[j])) {
        // an exponent's sign belongs to the number: 1e-9
        if ((src[j] === 'e' || src[j] === 'E') && (src[j + 1] === '-' || src[j + 1] === '+') && !/^0[xX]/.test(src.slice(i, i + 2))) j += 2;
        else j += 1;
      }
      push('number', i, j);
      prevSignificant = 'value';
      i = j;
      continue;
    }
    if (ID_START.test(c)) {
      let j = i + 1;
      while (j < n && ID_PART.test(src[j])) j += 1;
      const word = src.slice(i, j);
      const dotted = src[i - 1] === '.'; // obj.default is a property, not a keyword
      if (!dotted && KEYWORDS.has(word)) {
        push('keyword', i, j);
        prevSignificant = REGEX_AFTER_WORD.has(word) ? 'operator' : 'value';
      } else if (!dotted && LITERALS.has(word)) {
        push('literal', i, j);
        prevSignificant = 'value';
      } else {
        prevSignificant = 'value';
      }
      i = j;
      continue;
    }
    if (c === '/' && prevSignificant !== 'value') {
      const j = scanRegex(src, i);
      if (j > 0) {
        push('regex', i, j);
        prevSignificant = 'value';
        i = j;
        continue;
      }
    }
    if (!/\s/.test(c)) prevSignificant = c === ')' || c === ']' || c === '}' ? 'value' : 'operator';
    i += 1;
  }
  flushPlain(n);
  return out;
}

function scanQuoted(src, i, q) {
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') j += 2;
    else if (c === q) return j + 1;
    else if (c === '\n') return j; // an unterminated string ends at the line
    else j += 1;
  }
  return src.length;
}

// scanTemplate skips a template literal, counting braces inside ${ } so that a nested
// string or template with a backtick does not end it early.
function scanTemplate(src, i) {
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') j += 2;
    else if (c === '`') return j + 1;
    else if (c === '$' && src[j + 1] === '{') j = scanInterpolation(src, j + 2);
    else j += 1;
  }
  return src.length;
}

function scanInterpolation(src, j) {
  let depth = 1;
  while (j < src.length && depth > 0) {
    const c = src[j];
    if (c === '{') depth += 1;
    else if (c === '}') depth -= 1;
    else if (c === '"' || c === "'") { j = scanQuoted(src, j, c); continue; }
    else if (c === '`') { j = scanTemplate(src, j); continue; }
    j += 1;
  }
  return j;
}

// scanRegex returns the end of a regular expression literal at i, or -1 when the line has
// none (then the '/' is an operator).
function scanRegex(src, i) {
  let j = i + 1;
  let inClass = false;
  while (j < src.length) {
    const c = src[j];
    if (c === '\n') return -1;
    if (c === '\\') { j += 2; continue; }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      j += 1;
      while (j < src.length && /[a-z]/i.test(src[j])) j += 1;
      return j;
    }
    j += 1;
  }
  return -1;
}

/**
 * highlight renders source as a DocumentFragment of <span class="tok-TYPE"> and text nodes,
 * built with DOM calls: the source is never parsed as markup.
 */
export function highlight(src) {
  const frag = document.createDocumentFragment();
  for (const t of tokenize(src)) {
    if (t.type === 'plain') {
      frag.appendChild(document.createTextNode(t.text));
    } else {
      const span = document.createElement('span');
      span.className = `tok-${t.type}`;
      span.textContent = t.text;
      frag.appendChild(span);
    }
  }
  return frag;
}
