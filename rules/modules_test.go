package rules

import (
	"encoding/json"
	"regexp"
	"testing"
)

func TestModules(t *testing.T) {
	cases := []struct {
		name, code, want string
	}{
		{"url.parse", `var url = require('url');
var u = url.parse('https://User:pw@Example.com:8443/a/b?x=1&y=two#frag', true);
out = [u.protocol, u.auth, u.host, u.hostname, u.port, u.pathname, u.search, u.query, u.hash, u.path, u.href];`,
			`["https:","User:pw","example.com:8443","example.com","8443","/a/b","?x=1&y=two",{"x":"1","y":"two"},"#frag","/a/b?x=1&y=two","https://User:pw@example.com:8443/a/b?x=1&y=two#frag"]`},
		{"url.parse relative and format", `var url = require('url@0.11.0');
var rel = url.parse('/path?q=1');
out = [rel.protocol, rel.pathname, rel.query, url.format({ protocol: 'https', hostname: 'a.com', pathname: '/x', query: { a: 'b c', n: 1 } }),
  url.resolve('https://a.com/x/y', '../z'), url.format(url.parse('http://h.com'))];`,
			`[null,"/path","q=1","https://a.com/x?a=b%20c&n=1","https://a.com/z","http://h.com/"]`},
		{"URL", `var u = new URL('/p/q?a=1#h', 'https://Example.com:443');
u.searchParams.append('b', 'x y');
u.hash = '';
var bad; try { new URL('not a url'); } catch (e) { bad = [e.name, e.code]; }
out = [u.href, u.origin, u.host, u.pathname, u.search, u.searchParams.get('a'), String(u), bad, new URL('http://x.com:8080').port];`,
			`["https://example.com/p/q?a=1&b=x+y","https://example.com","example.com","/p/q","?a=1&b=x+y","1","https://example.com/p/q?a=1&b=x+y",["TypeError","ERR_INVALID_URL"],"8080"]`},
		{"URLSearchParams", `var p = new URLSearchParams('?a=1&b=2&a=3&c=%20x+y');
p.set('b', 'B'); p.delete('zz'); p.sort();
var q = new URLSearchParams({ k: 'v', 'é': "!'()~*" });
var keys = []; p.forEach(function (v, k) { keys.push(k + '=' + v); });
out = [p.getAll('a'), p.get('c'), p.has('b'), p.toString(), q.toString(), keys, Array.from(q.keys()), [...p].length];`,
			`[["1","3"]," x y",true,"a=1&a=3&b=B&c=+x+y","k=v&%C3%A9=%21%27%28%29%7E*",["a=1","a=3","b=B","c= x y"],["k","é"],4]`},
		{"querystring", `var qs = require('querystring');
out = [qs.parse('a=1&b=x%20y&a=2&c=&d&e=a+b'), qs.stringify({ a: [1, 2], b: 'x y', c: true, d: null, e: 'é&' }), qs.escape('a b'), qs.unescape('a%20b+c')];`,
			`[{"a":["1","2"],"b":"x y","c":"","d":"","e":"a b"},"a=1&a=2&b=x%20y&c=true&d=&e=%C3%A9%26","a%20b","a b c"]`},
		{"crypto hashes", `var crypto = require('crypto');
out = [crypto.createHash('md5').update('abc').digest('hex'),
  crypto.createHash('sha1').update('abc').digest('hex'),
  crypto.createHash('sha256').update('a').update('bc').digest('base64'),
  crypto.createHash('sha512').update(Buffer.from('abc')).digest('hex').slice(0, 16),
  crypto.createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex'),
  crypto.createHash('sha256').update('abc').digest().length];`,
			`["900150983cd24fb0d6963f7d28e17f72","a9993e364706816aba3e25717850c26c9cd0d89d","ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=","ddaf35a193617aba","f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",32]`},
		{"crypto random and compare", `var crypto = require('crypto');
var a = crypto.randomBytes(16).toString('hex');
var threw; try { crypto.timingSafeEqual(Buffer.from('a'), Buffer.from('ab')); } catch (e) { threw = e.name; }
var bad; try { crypto.createHash('whirlpool'); } catch (e) { bad = e.message; }
out = [a.length, /^[0-9a-f]{32}$/.test(a), UUID.test(crypto.randomUUID()), crypto.timingSafeEqual(Buffer.from('abc'), Buffer.from('abc')),
  crypto.timingSafeEqual(Buffer.from('abc'), Buffer.from('abd')), threw, bad];`,
			`[32,true,true,true,false,"RangeError","Digest method not supported"]`},
		{"uuid", `var uuid = require('uuid'), v4 = require('uuid/v4'), named = require('uuid@8.3.2');
out = [UUID.test(uuid.v4()), UUID.test(uuid()), UUID.test(v4()), named.validate(named.v4()), named.validate('nope'), uuid.v4() !== uuid.v4()];`,
			`[true,true,true,true,false,true]`},
		{"Buffer", `var b = Buffer.from('héllo wörld');
var c = Buffer.concat([Buffer.from('ab'), Buffer.from([99, 100])]);
out = [b.length, b.toString('base64'), b.toString('hex').slice(0, 8), Buffer.from(b.toString('base64'), 'base64').toString(),
  Buffer.from('aGk', 'base64').toString(), Buffer.from('_-8', 'base64url').toString('hex'), Buffer.from('zz41', 'hex').length,
  c.toString(), Buffer.isBuffer(c), c instanceof Uint8Array, c.slice(1, 3).toString(), JSON.stringify(Buffer.from('hi')),
  Buffer.byteLength('é'), Buffer.alloc(3, 'ab').toString(), c.equals(Buffer.from('abcd')), require('buffer').Buffer === Buffer,
  btoa('hi'), atob('aGk=')];`,
			`[13,"aMOpbGxvIHfDtnJsZA==","68c3a96c","héllo wörld","hi","ffef",0,"abcd",true,true,"bc","{\"type\":\"Buffer\",\"data\":[104,105]}",2,"aba",true,true,"aGk=","hi"]`},
		{"lodash", `var _ = require('lodash@4.17.19');
var users = [{ n: 'a', age: 3, tags: ['x'] }, { n: 'b', age: 1 }, { n: 'c', age: 2, tags: ['y'] }];
out = [_.get(users, '[0].tags[0]'), _.get(users, 'nope.x', 'dflt'), _.set({}, 'a.b[1]', 5), _.pick({ a: 1, b: 2, c: 3 }, ['a', 'c']),
  _.omit({ a: 1, b: 2 }, 'a'), _.merge({ a: { x: 1 } }, { a: { y: 2 } }), _.map(_.sortBy(users, 'age'), 'n'),
  _.find(users, { n: 'c' }).age, _.filter(users, function (u) { return u.age > 1; }).length, _.uniq([1, 1, 2]),
  _.difference([1, 2, 3], [2]), _.isEmpty({}), _.isEqual({ a: [1] }, { a: [1] }), _.has({ a: { b: 1 } }, 'a.b'),
  _.groupBy([1.1, 1.9, 2.5], Math.floor), _.keyBy(users, 'n').b.age, _.includes('abc', 'b'), _.compact([0, 1, '', 2]),
  _.flatten([1, [2, [3]]]), _.chunk([1, 2, 3], 2), _.range(3), _.camelCase('Foo Bar-baz'), _.cloneDeep({ d: [1, { e: 2 }] })];`,
			`["x","dflt",{"a":{"b":[null,5]}},{"a":1,"c":3},{"b":2},{"a":{"x":1,"y":2}},["b","c","a"],2,2,[1,2],[1,3],true,true,true,{"1":[1.1,1.9],"2":[2.5]},1,true,[1,2],[1,2,[3]],[[1,2],[3]],[0,1,2],"fooBarBaz",{"d":[1,{"e":2}]}]`},
		{"util", `var util = require('util');
var pf = util.promisify(function (a, cb) { setTimeout(function () { cb(null, a * 2); }, 1); });
out = [util.format('%s=%d %j', 'x', 5, { a: 1 }), util.inspect({ a: 'b' })];
pf(21).then(function (v) { out.push(v); done(); });`,
			`["x=5 {\"a\":1}","{\"a\":\"b\"}",42]`},
		{"require returns the same module", `out = [require('lodash') === require('lodash@4.17.21'), require('url').URL === URL, typeof require('request').get, typeof require('axios').create];`,
			`[true,true,"function","function"]`},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			async := regexp.MustCompile(`\bdone\(\)`).MatchString(tc.code)
			src := `function (user, context, callback) {
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  var out;
  function done() { context.idToken.out = out; callback(null, user, context); }
  ` + tc.code + `
  if (!` + map[bool]string{true: "true", false: "false"}[async] + `) done();
}`
			expect{idClaims: `{"out":` + tc.want + `}`}.check(t, runReq(t, e, rulesRequest(src)))
		})
	}
}

// Every member Check lets through exists in the module.
func TestModuleMembersExist(t *testing.T) {
	e := newTestEngine(t)
	for name, members := range moduleMembers {
		if members == nil {
			continue
		}
		list, _ := json.Marshal(members)
		resp := runReq(t, e, rulesRequest(`function (user, context, callback) {
  var m = require('`+name+`');
  context.idToken.missing = `+string(list)+`.filter(function (k) { return m[k] === undefined; });
  callback(null, user, context);
}`))
		if resp.Outcome != OutcomeOK {
			t.Fatalf("%s: %+v", name, resp.Error)
		}
		if missing := resp.IDTokenClaims["missing"].([]any); len(missing) > 0 {
			t.Errorf("module %s lacks %v", name, missing)
		}
	}
}
