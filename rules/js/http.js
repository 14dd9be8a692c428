// Outbound HTTP for scripts: fetch (and node-fetch), request (and request-promise) and a
// small axios. All go through native.request(options, callback), one Go HTTP client that
// only reaches the allowed hosts (see http.go); callback(err, {status, statusText, headers,
// body, url}) runs as a macrotask of the event loop.
(function (module, exports, require, native) {
  'use strict';
  const querystring = require('querystring');
  const URLSearchParams = require('url').URLSearchParams;

  function isBinary(b) { return b !== null && typeof b === 'object' && ArrayBuffer.isView(b); }

  function plainHeaders(h) {
    const out = {};
    if (!h) return out;
    if (h instanceof Headers) { h.forEach(function (v, k) { out[k] = v; }); return out; }
    if (Array.isArray(h)) { for (const p of h) out[String(p[0])] = String(p[1]); return out; }
    for (const k of Object.keys(h)) if (h[k] !== undefined && h[k] !== null) out[k] = String(h[k]);
    return out;
  }

  function hasHeader(h, name) {
    name = name.toLowerCase();
    return Object.keys(h).some(function (k) { return k.toLowerCase() === name; });
  }

  // fetch.

  class Headers {
    constructor(init) {
      this._m = new Map();
      if (init instanceof Headers) { init.forEach((v, k) => this.append(k, v)); return; }
      if (Array.isArray(init)) { for (const p of init) this.append(p[0], p[1]); return; }
      if (init && typeof init === 'object') for (const k of Object.keys(init)) this.append(k, init[k]);
    }
    append(k, v) {
      k = String(k).toLowerCase(); v = String(v);
      this._m.set(k, this._m.has(k) ? this._m.get(k) + ', ' + v : v);
    }
    set(k, v) { this._m.set(String(k).toLowerCase(), String(v)); }
    get(k) { k = String(k).toLowerCase(); return this._m.has(k) ? this._m.get(k) : null; }
    has(k) { return this._m.has(String(k).toLowerCase()); }
    delete(k) { this._m.delete(String(k).toLowerCase()); }
    forEach(fn, thisArg) { for (const [k, v] of this._m) fn.call(thisArg, v, k, this); }
    keys() { return this._m.keys(); }
    values() { return this._m.values(); }
    entries() { return this._m.entries(); }
    [Symbol.iterator]() { return this._m.entries(); }
    raw() { const o = {}; for (const [k, v] of this._m) o[k] = [v]; return o; }
  }

  class Response {
    constructor(body, init) {
      init = init || {};
      this._body = body === undefined || body === null ? '' : String(body);
      this.status = init.status === undefined ? 200 : init.status;
      this.statusText = init.statusText || '';
      this.ok = this.status >= 200 && this.status < 300;
      this.headers = new Headers(init.headers);
      this.url = init.url || '';
      this.redirected = !!init.redirected;
      this.bodyUsed = false;
    }
    _consume() {
      if (this.bodyUsed) return Promise.reject(new TypeError('body used already for: ' + this.url));
      this.bodyUsed = true;
      return Promise.resolve(this._body);
    }
    text() { return this._consume(); }
    json() { return this._consume().then(function (t) { return JSON.parse(t); }); }
    buffer() { return this._consume().then(function (t) { return Buffer.from(t); }); }
    arrayBuffer() { return this.buffer().then(function (b) { return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); }); }
    clone() { return new Response(this._body, this); }
  }

  function fetch(input, init) {
    return new Promise(function (resolve, reject) {
      init = init || {};
      const url = typeof input === 'string' ? input : (input && (input.href || input.url)) || String(input);
      const headers = plainHeaders(init.headers);
      let body = init.body;
      if (body instanceof URLSearchParams) {
        if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
        body = body.toString();
      } else if (body !== undefined && body !== null && !isBinary(body)) {
        body = String(body);
        if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'text/plain;charset=UTF-8';
      }
      native.request({ url: url, method: String(init.method || 'GET').toUpperCase(), headers: headers, body: body, timeout: init.timeout }, function (err, res) {
        if (err) return reject(err);
        resolve(new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers, url: res.url, redirected: res.redirected }));
      });
    });
  }
  fetch.default = fetch;
  fetch.Headers = Headers;
  fetch.Response = Response;

  // request.

  function buildRequest(opts) {
    let url = opts.url || opts.uri;
    if (url && typeof url === 'object') url = url.href || String(url);
    url = String(url || '');
    if (opts.baseUrl) url = String(opts.baseUrl).replace(/\/$/, '') + '/' + url.replace(/^\//, '');
    if (opts.qs && typeof opts.qs === 'object') {
      const q = querystring.stringify(opts.qs);
      if (q) url += (url.indexOf('?') >= 0 ? '&' : '?') + q;
    }
    const headers = plainHeaders(opts.headers);
    let body = opts.body;
    if (opts.form !== undefined) {
      body = typeof opts.form === 'string' ? opts.form : querystring.stringify(opts.form);
      if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined && opts.json !== false) {
      if (typeof opts.json !== 'boolean') body = opts.json;
      if (body !== undefined && !isBinary(body) && typeof body !== 'string') {
        body = JSON.stringify(body);
        if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
      }
      if (!hasHeader(headers, 'accept')) headers['accept'] = 'application/json';
    }
    if (body !== undefined && body !== null && typeof body !== 'string' && !isBinary(body)) body = String(body);
    const auth = opts.auth;
    if (auth && typeof auth === 'object') {
      if (auth.bearer) headers['authorization'] = 'Bearer ' + (typeof auth.bearer === 'function' ? auth.bearer() : auth.bearer);
      else if (auth.user !== undefined || auth.username !== undefined) {
        const u = auth.user !== undefined ? auth.user : auth.username;
        const p = auth.pass !== undefined ? auth.pass : (auth.password || '');
        headers['authorization'] = 'Basic ' + Buffer.from(u + ':' + p).toString('base64');
      }
    }
    return { url: url, method: String(opts.method || 'GET').toUpperCase(), headers: headers, body: body, timeout: opts.timeout };
  }

  function toResponse(opts, res) {
    let body = res.body;
    if (opts.json) {
      try { body = JSON.parse(body); } catch (e) { /* left as text, like request */ }
    } else if (opts.encoding === null) {
      body = Buffer.from(body);
    }
    return {
      statusCode: res.status, statusMessage: res.statusText, headers: res.headers, body: body,
      request: { uri: { href: res.url }, method: opts.method || 'GET' }, url: res.url,
      toJSON: function () { return { statusCode: res.status, body: body, headers: res.headers }; },
    };
  }

  function params(uri, options, callback) {
    if (typeof options === 'function') { callback = options; options = undefined; }
    let opts = {};
    if (uri && typeof uri === 'object' && !(uri.href && uri.protocol && !uri.url && !uri.uri)) opts = Object.assign({}, uri);
    else opts.uri = uri;
    if (options && typeof options === 'object') opts = Object.assign(opts, options);
    return { opts: opts, callback: callback };
  }

  function send(opts, callback) {
    native.request(buildRequest(opts), function (err, res) {
      if (!callback) return;
      if (err) return callback(err);
      const r = toResponse(opts, res);
      callback(null, r, r.body);
    });
    return { abort: function () {}, on: function () { return this; } };
  }

  function makeRequest(defaults) {
    function request(uri, options, callback) {
      const p = params(uri, options, callback);
      return send(Object.assign({}, defaults, p.opts), p.callback);
    }
    const verbs = { get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE', delete: 'DELETE', head: 'HEAD' };
    for (const v of Object.keys(verbs)) {
      request[v] = function (uri, options, callback) {
        const p = params(uri, options, callback);
        return send(Object.assign({}, defaults, p.opts, { method: verbs[v] }), p.callback);
      };
    }
    request.defaults = function (d) { return makeRequest(Object.assign({}, defaults, d)); };
    return request;
  }

  // request-promise: resolves with the body (or the response with resolveWithFullResponse);
  // rejects with a StatusCodeError outside 2xx unless simple is false.
  function makeRequestPromise(defaults) {
    function rp(uri, options) {
      const p = params(uri, options);
      const opts = Object.assign({}, defaults, p.opts);
      return new Promise(function (resolve, reject) {
        send(opts, function (err, res, body) {
          if (err) { const e = new Error(String(err.message)); e.name = 'RequestError'; e.cause = err; e.error = err; return reject(e); }
          if (opts.simple !== false && (res.statusCode < 200 || res.statusCode >= 300)) {
            const e = new Error(res.statusCode + ' - ' + (typeof body === 'string' ? body : JSON.stringify(body)));
            e.name = 'StatusCodeError'; e.statusCode = res.statusCode; e.error = body; e.response = res; e.options = opts;
            return reject(e);
          }
          resolve(opts.resolveWithFullResponse ? res : body);
        });
      });
    }
    const verbs = { get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE', delete: 'DELETE', head: 'HEAD' };
    for (const v of Object.keys(verbs)) {
      rp[v] = function (uri, options) { const p = params(uri, options); return rp(Object.assign(p.opts, { method: verbs[v] })); };
    }
    rp.defaults = function (d) { return makeRequestPromise(Object.assign({}, defaults, d)); };
    return rp;
  }

  // axios: config in, {data, status, statusText, headers, config} out; rejects outside 2xx.

  const methodKeys = ['common', 'get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
  function ownHeaders(h) {
    const out = {};
    for (const k of Object.keys(h || {})) {
      if (methodKeys.indexOf(k) < 0 && h[k] !== undefined && h[k] !== null) out[k] = String(h[k]);
    }
    return out;
  }

  function makeAxios(defaults) {
    function dispatch(config) {
      return new Promise(function (resolve, reject) {
        let url = String(config.url || '');
        if (config.baseURL && !/^[a-z][a-z0-9+.-]*:/i.test(url)) url = String(config.baseURL).replace(/\/+$/, '') + '/' + url.replace(/^\/+/, '');
        if (config.params) {
          const q = config.params instanceof URLSearchParams ? config.params.toString() : querystring.stringify(config.params);
          if (q) url += (url.indexOf('?') >= 0 ? '&' : '?') + q;
        }
        // Headers: the defaults' common and per-method ones, then the defaults' own (given to
        // create), then the request's.
        const headers = {};
        const dh = defaults.headers || {};
        Object.assign(headers, plainHeaders(dh.common), plainHeaders(dh[String(config.method || 'get').toLowerCase()]), ownHeaders(dh), ownHeaders(config.headers));
        let data = config.data;
        if (data instanceof URLSearchParams) {
          if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/x-www-form-urlencoded;charset=utf-8';
          data = data.toString();
        } else if (data !== undefined && data !== null && typeof data === 'object' && !isBinary(data)) {
          if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
          data = JSON.stringify(data);
        } else if (data !== undefined && data !== null && !isBinary(data)) {
          data = String(data);
        }
        if (!hasHeader(headers, 'accept')) headers['accept'] = 'application/json, text/plain, */*';
        if (config.auth) headers['authorization'] = 'Basic ' + Buffer.from(config.auth.username + ':' + (config.auth.password || '')).toString('base64');
        native.request({ url: url, method: String(config.method || 'get').toUpperCase(), headers: headers, body: data, timeout: config.timeout || undefined }, function (err, res) {
          if (err) {
            err.isAxiosError = true; err.config = config;
            return reject(err);
          }
          let body = res.body;
          if (config.responseType !== 'text' && typeof body === 'string' && body.length) {
            try { body = JSON.parse(body); } catch (e) { /* not JSON */ }
          }
          const response = { data: body, status: res.status, statusText: res.statusText, headers: res.headers, config: config, request: {} };
          const valid = config.validateStatus === undefined ? function (s) { return s >= 200 && s < 300; } : config.validateStatus;
          if (!valid || valid(res.status)) return resolve(response);
          const e = new Error('Request failed with status code ' + res.status);
          e.name = 'AxiosError';
          e.code = res.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST';
          e.isAxiosError = true; e.config = config; e.response = response;
          e.toJSON = function () { return { message: e.message, name: e.name, code: e.code, status: res.status }; };
          reject(e);
        });
      });
    }
    function merge(config) {
      const c = Object.assign({}, defaults, config);
      c.headers = Object.assign({}, config && config.headers);
      return c;
    }
    function axios(config, more) {
      if (typeof config === 'string') config = Object.assign({}, more, { url: config });
      return dispatch(merge(config));
    }
    axios.request = function (config) { return axios(config); };
    for (const m of ['get', 'delete', 'head', 'options']) {
      axios[m] = function (url, config) { return axios(Object.assign({}, config, { url: url, method: m })); };
    }
    for (const m of ['post', 'put', 'patch']) {
      axios[m] = function (url, data, config) { return axios(Object.assign({}, config, { url: url, method: m, data: data })); };
    }
    axios.defaults = defaults;
    axios.defaults.headers = axios.defaults.headers || { common: {} };
    axios.create = function (d) {
      const merged = Object.assign({}, defaults, d);
      merged.headers = Object.assign({ common: {} }, d && d.headers);
      return makeAxios(merged);
    };
    axios.isAxiosError = function (e) { return !!(e && e.isAxiosError); };
    axios.default = axios;
    return axios;
  }

  exports.fetch = fetch;
  exports.Headers = Headers;
  exports['node-fetch'] = fetch;
  exports.request = makeRequest({});
  exports['request-promise'] = makeRequestPromise({});
  exports['request-promise-native'] = exports['request-promise'];
  exports.axios = makeAxios({ headers: { common: {} } });
})
