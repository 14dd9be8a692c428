// form_post response mode: submit the form of hidden fields to the client's redirect_uri as
// soon as the page has loaded. Without scripts, the page shows a Continue button instead.
(function () {
  'use strict';
  var form = document.getElementById('form-post');
  if (form) {
    // The prototype's submit, in case a field named "submit" shadows form.submit.
    HTMLFormElement.prototype.submit.call(form);
  }
})();
