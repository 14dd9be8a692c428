// web_message response mode: post the authorization response to the window that opened this
// page (a popup) or that embeds it (a hidden iframe), for the client's origin only. The data
// comes from the page's JSON data block, never from markup the script would have to parse.
(function () {
  'use strict';
  var el = document.getElementById('web-message-data');
  if (!el) {
    return;
  }
  var data = JSON.parse(el.textContent);
  if (!data || typeof data.targetOrigin !== 'string' || !data.targetOrigin || data.targetOrigin === '*') {
    return;
  }
  var target = window.opener || window.parent;
  target.postMessage({ type: 'authorization_response', response: data.response || {} }, data.targetOrigin);
})();
