// The live password policy of the signup page. It mirrors the checks of package password
// (password/policy.go) so that the list of rules shown under the password field is ticked as
// the user types; the server checks again on submit, and without scripts the page shows the
// rules as a plain list.
//
// The page gives the policy as data- attributes of the list: data-preset (none, low, fair,
// good, excellent), data-min-length (the effective minimum, after the connection's override)
// and data-policy-for (the id of the password input). Each rule is an <li data-code="...">
// with Auth0's rule code; this script sets data-state="met" or "unmet" on it and a visually
// hidden "Requirement met:" prefix, inside an aria-live="polite" list.
(function (root) {
  'use strict';

  // Character classes, ASCII only like the server's. The special characters are OWASP's list
  // (the space and every ASCII punctuation mark), which the server uses, not only !@#$%^&*.
  var SPECIAL = ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  var CLASSES = {
    lowerCase: function (c) { return c >= 'a' && c <= 'z'; },
    upperCase: function (c) { return c >= 'A' && c <= 'Z'; },
    numbers: function (c) { return c >= '0' && c <= '9'; },
    specialCharacters: function (c) { return c.length === 1 && SPECIAL.indexOf(c) >= 0; }
  };

  // classes reports which of the named classes occur in chars.
  function classes(chars, names) {
    return names.map(function (name) {
      return { code: name, verified: chars.some(CLASSES[name]) };
    });
  }

  // identical: no run of more than limit identical characters (and not empty).
  function identical(chars, limit) {
    var run = 0;
    for (var i = 0; i < chars.length; i++) {
      run = i > 0 && chars[i] === chars[i - 1] ? run + 1 : 1;
      if (run > limit) {
        return false;
      }
    }
    return chars.length > 0;
  }

  // evaluate checks pw against a policy and returns its rules in the server's order, as
  // {code, verified, items}, like password.Policy.Check.
  function evaluate(preset, minLength, pw) {
    var chars = Array.from(pw); // code points, as the server counts them
    var rules = [{
      code: minLength <= 1 ? 'nonEmpty' : 'lengthAtLeast',
      verified: chars.length > 0 && chars.length >= minLength
    }];
    var all = ['lowerCase', 'upperCase', 'numbers', 'specialCharacters'];
    var items;
    if (preset === 'fair') {
      items = classes(chars, all.slice(0, 3));
      rules.push({
        code: 'shouldContain',
        verified: items.every(function (it) { return it.verified; }),
        items: items
      });
    } else if (preset === 'good' || preset === 'excellent') {
      items = classes(chars, all);
      rules.push({
        code: 'containsAtLeast',
        verified: items.filter(function (it) { return it.verified; }).length >= 3,
        items: items
      });
      if (preset === 'excellent') {
        rules.push({ code: 'identicalChars', verified: identical(chars, 2) });
      }
    }
    return rules;
  }

  function wire(list) {
    var input = root.document.getElementById(list.getAttribute('data-policy-for'));
    if (!input) {
      return;
    }
    var preset = list.getAttribute('data-preset');
    var minLength = parseInt(list.getAttribute('data-min-length'), 10) || 1;
    var labels = {
      met: list.getAttribute('data-met-label') || '',
      unmet: list.getAttribute('data-unmet-label') || ''
    };

    // mark changes a rule's state only when it changes, so that the live region announces
    // transitions and not every keystroke.
    function mark(code, verified) {
      var li = list.querySelector('li[data-code="' + code + '"]');
      var state = verified ? 'met' : 'unmet';
      if (!li || li.getAttribute('data-state') === state) {
        return;
      }
      li.setAttribute('data-state', state);
      var prefix = li.querySelector('.rule-state');
      if (prefix) {
        prefix.textContent = labels[state] + ' ';
      }
    }

    function update() {
      evaluate(preset, minLength, input.value).forEach(function (rule) {
        mark(rule.code, rule.verified);
        (rule.items || []).forEach(function (item) { mark(item.code, item.verified); });
      });
    }

    input.addEventListener('input', update);
    if (input.value) {
      update();
    }
  }

  root.latchPasswordPolicy = { evaluate: evaluate };

  if (root.document) {
    Array.prototype.forEach.call(root.document.querySelectorAll('[data-policy-for]'), wire);
  }
})(this);
