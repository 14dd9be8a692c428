// A subset of lodash 4 (no chaining). Check refuses the functions that are not here
// (moduleMembers in modules.go lists them; keep both in step).
(function (module, exports, require, native) {
  'use strict';
  const _ = {};
  const hasOwn = Object.prototype.hasOwnProperty;

  function isObjectLike(v) { return v !== null && typeof v === 'object'; }
  function toPath(path) {
    if (Array.isArray(path)) return path.map(String);
    const out = [];
    String(path).replace(/[^.[\]]+|\[(?:(-?\d+(?:\.\d+)?)|(["'])((?:(?!\2)[^\\]|\\.)*?)\2)\]/g, function (m, num, q, str) {
      out.push(q ? str : (num !== undefined ? num : m));
    });
    return out;
  }
  function iteratee(f) {
    if (typeof f === 'function') return f;
    if (f === undefined || f === null) return function (v) { return v; };
    if (Array.isArray(f)) return function (o) { return _.isEqual(_.get(o, f[0]), f[1]); };
    if (typeof f === 'object') {
      const keys = Object.keys(f);
      return function (o) { return o != null && keys.every(function (k) { return _.isEqual(o[k], f[k]); }); };
    }
    return function (o) { return _.get(o, f); };
  }
  function entries(c) {
    if (c == null) return [];
    if (Array.isArray(c) || typeof c === 'string') return Array.prototype.map.call(c, function (v, i) { return [i, v]; });
    return Object.keys(c).map(function (k) { return [k, c[k]]; });
  }

  _.get = function (obj, path, def) {
    let cur = obj;
    for (const k of toPath(path)) {
      if (cur == null) return def;
      cur = cur[k];
    }
    return cur === undefined ? def : cur;
  };
  _.has = function (obj, path) {
    let cur = obj;
    for (const k of toPath(path)) {
      if (cur == null || !hasOwn.call(Object(cur), k)) return false;
      cur = cur[k];
    }
    return true;
  };
  _.set = function (obj, path, value) {
    if (!isObjectLike(obj) && typeof obj !== 'function') return obj;
    const p = toPath(path);
    let cur = obj;
    for (let i = 0; i < p.length - 1; i++) {
      if (!isObjectLike(cur[p[i]])) cur[p[i]] = /^\d+$/.test(p[i + 1]) ? [] : {};
      cur = cur[p[i]];
    }
    cur[p[p.length - 1]] = value;
    return obj;
  };
  _.unset = function (obj, path) {
    const p = toPath(path);
    const parent = p.length > 1 ? _.get(obj, p.slice(0, -1)) : obj;
    if (parent == null) return true;
    return delete parent[p[p.length - 1]];
  };
  _.pick = function (obj, ...paths) {
    const out = {};
    if (obj == null) return out;
    for (const p of [].concat(...paths)) if (_.has(obj, p)) _.set(out, p, _.get(obj, p));
    return out;
  };
  _.omit = function (obj, ...paths) {
    const out = _.cloneDeep(Object.assign({}, obj));
    for (const p of [].concat(...paths)) _.unset(out, p);
    return out;
  };
  _.pickBy = function (obj, pred) {
    const f = iteratee(pred); const out = {};
    for (const k of Object.keys(obj || {})) if (f(obj[k], k)) out[k] = obj[k];
    return out;
  };
  _.omitBy = function (obj, pred) {
    const f = iteratee(pred);
    return _.pickBy(obj, function (v, k) { return !f(v, k); });
  };
  _.assign = _.extend = function (target, ...sources) { return Object.assign(target, ...sources); };
  _.defaults = function (target, ...sources) {
    target = Object(target);
    for (const s of sources) for (const k of Object.keys(Object(s))) if (target[k] === undefined) target[k] = s[k];
    return target;
  };
  _.merge = function (target, ...sources) {
    function mergeInto(t, s, depth) {
      if (depth > 100) throw new RangeError('Maximum call stack size exceeded');
      for (const k of Object.keys(s)) {
        const sv = s[k];
        if (sv === undefined) continue;
        if (isObjectLike(sv) && (Array.isArray(sv) || _.isPlainObject(sv))) {
          let tv = t[k];
          if (!isObjectLike(tv)) tv = Array.isArray(sv) ? [] : {};
          t[k] = mergeInto(tv, sv, depth + 1);
        } else {
          t[k] = sv;
        }
      }
      return t;
    }
    for (const s of sources) if (isObjectLike(s)) mergeInto(target, s, 0);
    return target;
  };
  _.clone = function (v) {
    if (!isObjectLike(v)) return v;
    return Array.isArray(v) ? v.slice() : Object.assign(Object.create(Object.getPrototypeOf(v)), v);
  };
  _.cloneDeep = function (v) {
    const seen = new Map();
    function c(x) {
      if (!isObjectLike(x)) return x;
      if (seen.has(x)) return seen.get(x);
      if (x instanceof Date) return new Date(x.getTime());
      if (x instanceof RegExp) return new RegExp(x.source, x.flags);
      const out = Array.isArray(x) ? [] : Object.create(Object.getPrototypeOf(x));
      seen.set(x, out);
      for (const k of Object.keys(x)) out[k] = c(x[k]);
      return out;
    }
    return c(v);
  };
  _.isEqual = function (a, b) {
    function eq(x, y, depth) {
      if (Object.is(x, y) || x === y) return true;
      if (depth > 100 || !isObjectLike(x) || !isObjectLike(y)) return false;
      if (x instanceof Date && y instanceof Date) return x.getTime() === y.getTime();
      if (Array.isArray(x) !== Array.isArray(y)) return false;
      if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
      const kx = Object.keys(x), ky = Object.keys(y);
      if (kx.length !== ky.length) return false;
      return kx.every(function (k) { return hasOwn.call(y, k) && eq(x[k], y[k], depth + 1); });
    }
    return eq(a, b, 0);
  };

  _.isArray = Array.isArray;
  _.isString = function (v) { return typeof v === 'string' || v instanceof String; };
  _.isNumber = function (v) { return typeof v === 'number' || v instanceof Number; };
  _.isBoolean = function (v) { return v === true || v === false || v instanceof Boolean; };
  _.isFunction = function (v) { return typeof v === 'function'; };
  _.isObject = function (v) { return v !== null && (typeof v === 'object' || typeof v === 'function'); };
  _.isPlainObject = function (v) {
    if (!isObjectLike(v)) return false;
    const p = Object.getPrototypeOf(v);
    return p === null || p === Object.prototype;
  };
  _.isNil = function (v) { return v === null || v === undefined; };
  _.isNull = function (v) { return v === null; };
  _.isUndefined = function (v) { return v === undefined; };
  _.isEmpty = function (v) {
    if (v == null) return true;
    if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
    if (v instanceof Map || v instanceof Set) return v.size === 0;
    if (typeof v === 'object') return Object.keys(v).length === 0;
    return true;
  };

  _.forEach = _.each = function (c, f) {
    for (const [k, v] of entries(c)) if (f(v, k, c) === false) break;
    return c;
  };
  _.map = function (c, f) { const g = iteratee(f); return entries(c).map(function (e) { return g(e[1], e[0], c); }); };
  _.filter = function (c, f) { const g = iteratee(f); return entries(c).filter(function (e) { return g(e[1], e[0], c); }).map(function (e) { return e[1]; }); };
  _.find = function (c, f) { const g = iteratee(f); const e = entries(c).find(function (e) { return g(e[1], e[0], c); }); return e ? e[1] : undefined; };
  _.findIndex = function (a, f) { return (a || []).findIndex(iteratee(f)); };
  _.some = function (c, f) { const g = iteratee(f); return entries(c).some(function (e) { return g(e[1], e[0], c); }); };
  _.every = function (c, f) { const g = iteratee(f); return entries(c).every(function (e) { return g(e[1], e[0], c); }); };
  _.reduce = function (c, f, acc) {
    const es = entries(c);
    let i = 0;
    if (arguments.length < 3) { if (!es.length) return undefined; acc = es[0][1]; i = 1; }
    for (; i < es.length; i++) acc = f(acc, es[i][1], es[i][0], c);
    return acc;
  };
  _.groupBy = function (c, f) {
    const g = iteratee(f); const out = {};
    for (const [, v] of entries(c)) { const k = g(v); (hasOwn.call(out, k) ? out[k] : (out[k] = [])).push(v); }
    return out;
  };
  _.keyBy = function (c, f) {
    const g = iteratee(f); const out = {};
    for (const [, v] of entries(c)) out[g(v)] = v;
    return out;
  };
  _.mapValues = function (o, f) {
    const g = iteratee(f); const out = {};
    for (const k of Object.keys(o || {})) out[k] = g(o[k], k, o);
    return out;
  };
  _.sortBy = function (c, ...fs) {
    const gs = [].concat(...fs).map(iteratee);
    if (!gs.length) gs.push(function (v) { return v; });
    return entries(c).map(function (e) { return e[1]; }).map(function (v, i) { return { v: v, i: i }; }).sort(function (a, b) {
      for (const g of gs) {
        const x = g(a.v), y = g(b.v);
        if (x < y || (x !== undefined && y === undefined)) return -1;
        if (x > y || (x === undefined && y !== undefined)) return 1;
      }
      return a.i - b.i;
    }).map(function (e) { return e.v; });
  };
  _.includes = function (c, v, from) {
    if (typeof c === 'string') return c.indexOf(v, from || 0) >= 0;
    return entries(c).slice(from || 0).some(function (e) { return Object.is(e[1], v) || e[1] === v; });
  };
  _.indexOf = function (a, v, from) { return (a || []).indexOf(v, from); };
  _.size = function (c) {
    if (c == null) return 0;
    if (typeof c === 'string' || Array.isArray(c)) return c.length;
    if (c instanceof Map || c instanceof Set) return c.size;
    return Object.keys(c).length;
  };
  _.keys = function (o) { return o == null ? [] : Object.keys(Object(o)); };
  _.values = function (o) { return o == null ? [] : Object.keys(Object(o)).map(function (k) { return o[k]; }); };

  _.first = _.head = function (a) { return a && a.length ? a[0] : undefined; };
  _.last = function (a) { return a && a.length ? a[a.length - 1] : undefined; };
  _.compact = function (a) { return (a || []).filter(Boolean); };
  _.flatten = function (a) { return [].concat(...(a || []).map(function (x) { return Array.isArray(x) ? x : [x]; })); };
  _.uniq = function (a) { return Array.from(new Set(a || [])); };
  _.uniqBy = function (a, f) {
    const g = iteratee(f); const seen = new Set();
    return (a || []).filter(function (v) { const k = g(v); if (seen.has(k)) return false; seen.add(k); return true; });
  };
  _.union = function (...arrays) { return _.uniq([].concat(...arrays.map(function (a) { return a || []; }))); };
  _.intersection = function (first, ...rest) {
    return _.uniq(first || []).filter(function (v) { return rest.every(function (a) { return (a || []).indexOf(v) >= 0; }); });
  };
  _.difference = function (a, ...rest) {
    const ex = [].concat(...rest.map(function (r) { return r || []; }));
    return (a || []).filter(function (v) { return ex.indexOf(v) < 0; });
  };
  _.without = function (a, ...vs) { return (a || []).filter(function (v) { return vs.indexOf(v) < 0; }); };
  _.chunk = function (a, n) {
    n = Math.max(Math.floor(n === undefined ? 1 : n), 0);
    const out = [];
    if (!n) return out;
    for (let i = 0; i < (a || []).length; i += n) out.push(a.slice(i, i + n));
    return out;
  };
  _.range = function (start, end, step) {
    if (end === undefined) { end = start; start = 0; }
    step = step === undefined ? (start < end ? 1 : -1) : step;
    const n = Math.max(Math.ceil((end - start) / (step || 1)), 0);
    if (n > 4194304) throw new RangeError('latch: range too large');
    const out = [];
    for (let i = 0; i < n; i++) out.push(start + i * step);
    return out;
  };
  _.join = function (a, sep) { return (a || []).join(sep === undefined ? ',' : sep); };

  _.toLower = function (s) { return s == null ? '' : String(s).toLowerCase(); };
  _.toUpper = function (s) { return s == null ? '' : String(s).toUpperCase(); };
  _.trim = function (s, chars) {
    s = s == null ? '' : String(s);
    if (chars === undefined) return s.trim();
    let i = 0, j = s.length;
    while (i < j && chars.indexOf(s[i]) >= 0) i++;
    while (j > i && chars.indexOf(s[j - 1]) >= 0) j--;
    return s.slice(i, j);
  };
  _.startsWith = function (s, t, pos) { return String(s == null ? '' : s).startsWith(t, pos); };
  _.endsWith = function (s, t, pos) { return String(s == null ? '' : s).endsWith(t, pos); };
  _.split = function (s, sep, limit) { return String(s == null ? '' : s).split(sep, limit); };
  _.camelCase = function (s) {
    const words = String(s == null ? '' : s).replace(/['\u2019]/g, '').match(/[A-Z]{2,}(?=[A-Z][a-z]+|\b|[^A-Za-z])|[A-Z]?[a-z]+|[A-Z]+|\d+/g) || [];
    return words.map(function (w, i) { w = w.toLowerCase(); return i ? w.charAt(0).toUpperCase() + w.slice(1) : w; }).join('');
  };

  module.exports = _;
})
