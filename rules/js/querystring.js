// Node's querystring: parse and stringify of application/x-www-form-urlencoded data.
(function (module, exports, require, native) {
  'use strict';

  function unescape(s) {
    s = String(s).replace(/\+/g, ' ');
    try {
      return decodeURIComponent(s);
    } catch (e) {
      return s.replace(/%([0-9a-fA-F]{2})/g, function (_, h) { return String.fromCharCode(parseInt(h, 16)); });
    }
  }

  function escape(s) {
    return encodeURIComponent(s);
  }

  function primitive(v) {
    switch (typeof v) {
      case 'string': return v;
      case 'number': return isFinite(v) ? String(v) : '';
      case 'bigint': return String(v);
      case 'boolean': return v ? 'true' : 'false';
      default: return '';
    }
  }

  function stringify(obj, sep, eq) {
    sep = sep || '&';
    eq = eq || '=';
    if (obj === null || typeof obj !== 'object') return '';
    const parts = [];
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      const ks = exports.escape(k) + eq;
      if (Array.isArray(v)) {
        for (const e of v) parts.push(ks + exports.escape(primitive(e)));
      } else {
        parts.push(ks + exports.escape(primitive(v)));
      }
    }
    return parts.join(sep);
  }

  function parse(str, sep, eq, options) {
    sep = sep || '&';
    eq = eq || '=';
    const out = Object.create(null);
    if (typeof str !== 'string' || str.length === 0) return out;
    let max = (options && typeof options.maxKeys === 'number') ? options.maxKeys : 1000;
    const decode = (options && options.decodeURIComponent) || exports.unescape;
    const pairs = str.split(sep);
    if (max > 0 && pairs.length > max) pairs.length = max;
    for (const pair of pairs) {
      if (pair.length === 0) continue;
      const i = pair.indexOf(eq);
      const k = decode(i >= 0 ? pair.slice(0, i) : pair);
      const v = i >= 0 ? decode(pair.slice(i + eq.length)) : '';
      if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = v;
      else if (Array.isArray(out[k])) out[k].push(v);
      else out[k] = [out[k], v];
    }
    return out;
  }

  exports.parse = exports.decode = parse;
  exports.stringify = exports.encode = stringify;
  exports.escape = escape;
  exports.unescape = unescape;
})
