// Buffer: a Uint8Array with Node's encodings (utf8, hex, base64, base64url, latin1, ascii).
// The encodings are Go code (native.encode / native.decode).
(function (module, exports, require, native) {
  'use strict';

  function checkSize(n) {
    if (n > native.maxBytes) native.limit('latch: Buffer larger than ' + native.maxBytes + ' bytes');
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === 'string') {
        return new Buffer(native.decode(value, encodingOrOffset === undefined ? 'utf8' : String(encodingOrOffset)));
      }
      if (value instanceof ArrayBuffer) {
        const offset = encodingOrOffset === undefined ? 0 : encodingOrOffset;
        return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length);
      }
      if (ArrayBuffer.isView(value)) {
        checkSize(value.byteLength);
        const b = new Buffer(value.byteLength);
        b.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        return b;
      }
      if (value !== null && typeof value === 'object') {
        if (value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
        if (typeof value.length === 'number') {
          checkSize(value.length);
          const b = new Buffer(value.length);
          for (let i = 0; i < value.length; i++) b[i] = value[i] & 255;
          return b;
        }
      }
      throw new TypeError('The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.');
    }
    static alloc(size, fill, encoding) {
      checkSize(size);
      const b = new Buffer(size);
      if (fill !== undefined && fill !== 0) {
        if (typeof fill === 'string') {
          const f = Buffer.from(fill, encoding);
          for (let i = 0; i < size && f.length; i++) b[i] = f[i % f.length];
        } else {
          b.fill(fill);
        }
      }
      return b;
    }
    static allocUnsafe(size) { return Buffer.alloc(size); }
    static isBuffer(b) { return b instanceof Buffer; }
    static isEncoding(e) {
      return ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii'].indexOf(String(e).toLowerCase()) >= 0;
    }
    static byteLength(value, encoding) {
      if (typeof value === 'string') return native.decode(value, encoding === undefined ? 'utf8' : encoding).byteLength;
      return value.byteLength;
    }
    static concat(list, totalLength) {
      if (totalLength === undefined) totalLength = list.reduce((n, b) => n + b.length, 0);
      checkSize(totalLength);
      const out = Buffer.alloc(totalLength);
      let pos = 0;
      for (const b of list) {
        if (pos >= totalLength) break;
        const part = b.length > totalLength - pos ? b.subarray(0, totalLength - pos) : b;
        out.set(part, pos);
        pos += part.length;
      }
      return out;
    }
    static compare(a, b) { return a.compare(b); }
    toString(encoding, start, end) {
      let view = this;
      if (start !== undefined || end !== undefined) {
        view = this.subarray(start || 0, end === undefined ? this.length : end);
      }
      return native.encode(view, encoding === undefined ? 'utf8' : String(encoding));
    }
    toJSON() { return { type: 'Buffer', data: Array.prototype.slice.call(this) }; }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      const n = Math.min(this.length, other.length);
      for (let i = 0; i < n; i++) {
        if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
      }
      return this.length === other.length ? 0 : (this.length < other.length ? -1 : 1);
    }
    slice(start, end) { return this.subarray(start, end); }
    write(string, offset, length, encoding) {
      if (typeof offset === 'string') { encoding = offset; offset = 0; length = undefined; }
      const src = Buffer.from(string, encoding);
      offset = offset || 0;
      const n = Math.min(src.length, this.length - offset, length === undefined ? Infinity : length);
      this.set(src.subarray(0, n), offset);
      return n;
    }
  }
  module.exports = { Buffer: Buffer };
})
