// Node's url module: the legacy url.parse/format/resolve and the WHATWG URL and
// URLSearchParams classes. Parsing itself is Go's net/url (native.parse, native.legacy).
(function (module, exports, require, native) {
  'use strict';
  const querystring = require('querystring');

  // application/x-www-form-urlencoded, as URLSearchParams serializes it.
  function formEncode(s) {
    return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function formDecode(s) {
    return querystring.unescape(s);
  }

  class URLSearchParams {
    constructor(init) {
      this._list = [];
      this._url = null;
      if (init === undefined || init === null) return;
      if (init instanceof URLSearchParams) {
        this._list = init._list.map(function (p) { return [p[0], p[1]]; });
      } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
          this._list.push([String(p[0]), String(p[1])]);
        }
      } else if (typeof init === 'object') {
        for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
      } else {
        this._parse(String(init));
      }
    }
    _parse(s) {
      this._list = [];
      if (s.charAt(0) === '?') s = s.slice(1);
      for (const part of s.split('&')) {
        if (part === '') continue;
        const i = part.indexOf('=');
        this._list.push(i >= 0 ? [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))] : [formDecode(part), '']);
      }
    }
    _update() {
      if (this._url) this._url._search = this._list.length ? '?' + this.toString() : '';
    }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([String(k), String(v)]); this._update(); }
    delete(k) { k = String(k); this._list = this._list.filter(function (p) { return p[0] !== k; }); this._update(); }
    get(k) { k = String(k); const p = this._list.find(function (p) { return p[0] === k; }); return p ? p[1] : null; }
    getAll(k) { k = String(k); return this._list.filter(function (p) { return p[0] === k; }).map(function (p) { return p[1]; }); }
    has(k) { k = String(k); return this._list.some(function (p) { return p[0] === k; }); }
    set(k, v) {
      k = String(k); v = String(v);
      const i = this._list.findIndex(function (p) { return p[0] === k; });
      if (i < 0) this._list.push([k, v]);
      else {
        this._list[i][1] = v;
        this._list = this._list.filter(function (p, j) { return j <= i || p[0] !== k; });
      }
      this._update();
    }
    sort() { this._list.sort(function (a, b) { return a[0] < b[0] ? -1 : (a[0] > b[0] ? 1 : 0); }); this._update(); }
    forEach(fn, thisArg) { for (const p of this._list) fn.call(thisArg, p[1], p[0], this); }
    keys() { return this._list.map(function (p) { return p[0]; })[Symbol.iterator](); }
    values() { return this._list.map(function (p) { return p[1]; })[Symbol.iterator](); }
    entries() { return this._list.map(function (p) { return [p[0], p[1]]; })[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(function (p) { return formEncode(p[0]) + '=' + formEncode(p[1]); }).join('&'); }
  }

  const special = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21' };

  class URL {
    constructor(input, base) {
      this._set(native.parse(String(input), base === undefined ? undefined : String(base)));
    }
    _set(p) {
      this._protocol = p.protocol;
      this._username = p.username;
      this._password = p.password;
      this._hostname = p.hostname;
      this._port = p.port;
      this._pathname = p.pathname;
      this._search = p.search === '?' ? '' : p.search;
      this._hash = p.hash;
      this._params = new URLSearchParams(this._search);
      this._params._url = this;
    }
    get href() {
      let auth = '';
      if (this._username || this._password) {
        auth = this._username + (this._password ? ':' + this._password : '') + '@';
      }
      const slashes = this._hostname || special[this._protocol] ? '//' : '';
      return this._protocol + slashes + auth + this.host + this._pathname + this._search + this._hash;
    }
    set href(v) { this._set(native.parse(String(v))); }
    get origin() { return special[this._protocol] ? this._protocol + '//' + this.host : 'null'; }
    get protocol() { return this._protocol; }
    set protocol(v) { v = String(v); this._protocol = v.endsWith(':') ? v : v + ':'; }
    get username() { return this._username; }
    set username(v) { this._username = String(v); }
    get password() { return this._password; }
    set password(v) { this._password = String(v); }
    get host() { return this._hostname + (this._port ? ':' + this._port : ''); }
    set host(v) {
      const s = String(v); const i = s.lastIndexOf(':');
      if (i > 0 && /^[0-9]*$/.test(s.slice(i + 1))) { this._hostname = s.slice(0, i).toLowerCase(); this.port = s.slice(i + 1); }
      else this._hostname = s.toLowerCase();
    }
    get hostname() { return this._hostname; }
    set hostname(v) { this._hostname = String(v).toLowerCase(); }
    get port() { return this._port; }
    set port(v) { v = String(v); this._port = special[this._protocol] === v ? '' : v; }
    get pathname() { return this._pathname; }
    set pathname(v) { v = String(v); this._pathname = v.charAt(0) === '/' ? v : '/' + v; }
    get search() { return this._search; }
    set search(v) {
      v = String(v);
      this._search = v === '' || v === '?' ? '' : (v.charAt(0) === '?' ? v : '?' + v);
      this._params._parse(this._search);
    }
    get searchParams() { return this._params; }
    get hash() { return this._hash; }
    set hash(v) { v = String(v); this._hash = v === '' || v === '#' ? '' : (v.charAt(0) === '#' ? v : '#' + v); }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }

  // Legacy API.
  function Url() {
    this.protocol = null; this.slashes = null; this.auth = null; this.host = null;
    this.port = null; this.hostname = null; this.hash = null; this.search = null;
    this.query = null; this.pathname = null; this.path = null; this.href = null;
  }

  function parse(str, parseQueryString) {
    if (str instanceof Url) return str;
    const u = new Url();
    const p = native.legacy(String(str));
    if (p === null) {
      u.href = String(str);
      return u;
    }
    u.protocol = p.protocol || null;
    u.slashes = p.slashes || null;
    u.auth = p.username ? p.username + (p.password ? ':' + p.password : '') : null;
    u.hostname = p.hostname || null;
    u.port = p.port || null;
    u.host = p.hostname ? p.hostname + (p.port ? ':' + p.port : '') : null;
    u.hash = p.hash || null;
    u.search = p.search || null;
    u.pathname = p.pathname || (p.hostname ? '/' : null);
    u.path = (u.pathname || '') + (u.search || '') || null;
    u.query = parseQueryString ? querystring.parse(u.search ? u.search.slice(1) : '') : (u.search ? u.search.slice(1) : null);
    u.href = format(u);
    return u;
  }

  function format(obj) {
    if (typeof obj === 'string') obj = parse(obj);
    if (obj instanceof URL) return obj.href;
    let protocol = obj.protocol || '';
    if (protocol && protocol.slice(-1) !== ':') protocol += ':';
    let auth = obj.auth ? encodeURIComponent(obj.auth).replace(/%3A/i, ':') + '@' : '';
    let host = '';
    if (obj.host) host = auth + obj.host;
    else if (obj.hostname) host = auth + obj.hostname + (obj.port ? ':' + obj.port : '');
    let pathname = obj.pathname || '';
    let search = obj.search || '';
    if (!search && obj.query && typeof obj.query === 'object') {
      const q = querystring.stringify(obj.query);
      if (q) search = '?' + q;
    } else if (!search && typeof obj.query === 'string' && obj.query) {
      search = '?' + obj.query;
    }
    if (search && search.charAt(0) !== '?') search = '?' + search;
    let hash = obj.hash || '';
    if (hash && hash.charAt(0) !== '#') hash = '#' + hash;
    if (host && pathname && pathname.charAt(0) !== '/') pathname = '/' + pathname;
    let head = protocol;
    if (host || (protocol && (obj.slashes || /^(https?|ftp|wss?|file):$/.test(protocol)))) head += '//';
    return head + host + pathname + search + hash;
  }

  function resolve(from, to) {
    return native.resolve(String(from), String(to));
  }

  exports.parse = parse;
  exports.format = format;
  exports.resolve = resolve;
  exports.URL = URL;
  exports.URLSearchParams = URLSearchParams;
  exports.Url = Url;
})
