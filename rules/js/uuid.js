// uuid: v4 only. The module is also callable (uuid@3 exported v4 as the module itself).
(function (module, exports, require, native) {
  'use strict';
  const crypto = require('crypto');
  function v4() { return crypto.randomUUID(); }
  v4.v4 = v4;
  v4.NIL = '00000000-0000-0000-0000-000000000000';
  v4.validate = function (s) {
    return typeof s === 'string' && /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12})$/i.test(s);
  };
  module.exports = v4;
})
