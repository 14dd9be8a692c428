// util: format and inspect (the console's formatting), promisify, inherits, deprecate.
(function (module, exports, require, native) {
  'use strict';
  exports.format = native.format;
  exports.inspect = native.inspect;
  exports.promisify = function (fn) {
    if (typeof fn !== 'function') throw new TypeError('The "original" argument must be of type function');
    return function () {
      const args = Array.prototype.slice.call(arguments);
      const self = this;
      return new Promise(function (resolve, reject) {
        fn.apply(self, args.concat([function (err, value) { if (err) reject(err); else resolve(value); }]));
      });
    };
  };
  exports.inherits = function (ctor, superCtor) {
    Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
    Object.setPrototypeOf(ctor, superCtor);
    ctor.super_ = superCtor;
  };
  exports.deprecate = function (fn) { return fn; };
  exports.isDeepStrictEqual = function (a, b) { return require('lodash').isEqual(a, b); };
})
