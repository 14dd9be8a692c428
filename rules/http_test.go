package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// partnerServer is the outside world: a real HTTP server on 127.0.0.1.
func partnerServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Custom", "yes")
		fmt.Fprint(w, `{"ok":true,"n":1000000}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "query": r.URL.RawQuery, "body": string(body),
			"contentType": r.Header.Get("Content-Type"), "auth": r.Header.Get("Authorization"), "x": r.Header.Get("X-Test"),
		})
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"not_found"}`)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/json", http.StatusFound)
	})
	mux.HandleFunc("/redirect-out", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.test/", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 2<<20))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func httpRequest(base string, allowPrivate bool, src string) Request {
	req := rulesRequest(src)
	u, _ := url.Parse(base)
	req.Configuration = map[string]string{"BASE": base, "HOST": u.Host}
	req.Limits.AllowedHosts = []string{"127.0.0.1"}
	req.Limits.AllowPrivateNetworks = allowPrivate
	return req
}

func TestOutboundHTTP(t *testing.T) {
	srv := partnerServer(t)
	cases := []struct {
		name string
		rule string
		want expect
	}{
		{
			name: "fetch",
			rule: `function (user, context, callback) {
  fetch(configuration.BASE + '/json').then(function (res) {
    context.idToken.status = [res.ok, res.status, res.headers.get('x-custom'), res.headers.get('nope')];
    return res.json();
  }).then(function (body) {
    context.idToken.body = body;
    callback(null, user, context);
  }).catch(callback);
}`,
			want: expect{idClaims: `{"status":[true,200,"yes",null],"body":{"ok":true,"n":1000000}}`},
		},
		{
			name: "fetch with a form body, from async code",
			rule: `async function (user, context, callback) {
  const fetch = require('node-fetch@2.6.0');
  const { URLSearchParams } = require('url');
  const res = await fetch(configuration.BASE + '/echo?a=1', { method: 'POST', body: new URLSearchParams({ grant_type: 'x y', n: '1' }), headers: { 'X-Test': 't' } });
  context.idToken.echo = await res.json();
  callback(null, user, context);
}`,
			want: expect{idClaims: `{"echo":{"method":"POST","query":"a=1","body":"grant_type=x+y&n=1","contentType":"application/x-www-form-urlencoded;charset=UTF-8","auth":"","x":"t"}}`},
		},
		{
			name: "request with json",
			rule: `function (user, context, callback) {
  const request = require('request@2.88.0');
  request.post({ url: configuration.BASE + '/echo', json: { a: 1 }, qs: { q: 'v w' }, auth: { bearer: 'tok' } }, function (err, response, body) {
    if (err) return callback(err);
    context.idToken.r = [response.statusCode, body.method, body.body, body.query, body.contentType, body.auth];
    callback(null, user, context);
  });
}`,
			want: expect{idClaims: `{"r":[200,"POST","{\"a\":1}","q=v%20w","application/json","Bearer tok"]}`},
		},
		{
			name: "request with a form and basic auth",
			rule: `function (user, context, callback) {
  require('request')({ method: 'PUT', uri: configuration.BASE + '/echo', form: { a: 'b c' }, auth: { user: 'u', pass: 'p' } }, function (err, response, body) {
    if (err) return callback(err);
    const b = JSON.parse(body);
    context.idToken.r = [b.method, b.body, b.contentType, b.auth];
    callback(null, user, context);
  });
}`,
			want: expect{idClaims: `{"r":["PUT","a=b%20c","application/x-www-form-urlencoded","Basic dTpw"]}`},
		},
		{
			name: "request-promise",
			rule: `async function (user, context, callback) {
  const rp = require('request-promise');
  const body = await rp({ uri: configuration.BASE + '/json', json: true });
  let status;
  try { await rp(configuration.BASE + '/missing'); } catch (e) { status = [e.name, e.statusCode]; }
  context.idToken.rp = [body.ok, status];
  callback(null, user, context);
}`,
			want: expect{idClaims: `{"rp":[true,["StatusCodeError",404]]}`},
		},
		{
			name: "axios",
			rule: `async function (user, context, callback) {
  const axios = require('axios@0.21.1');
  const a = await axios.get(configuration.BASE + '/json');
  const b = await axios.post(configuration.BASE + '/echo', { k: 'v' }, { headers: { 'X-Test': 'h' } });
  let missing;
  try { await axios.get(configuration.BASE + '/missing'); } catch (e) { missing = [e.response.status, e.response.data.error, axios.isAxiosError(e)]; }
  const api = axios.create({ baseURL: configuration.BASE, headers: { 'X-Test': 'instance' } });
  const c = await api.get('/echo', { params: { z: 1 } });
  context.idToken.ax = [a.status, a.data.n, b.data.body, b.data.x, missing, c.data.query, c.data.x];
  callback(null, user, context);
}`,
			want: expect{idClaims: `{"ax":[200,1000000,"{\"k\":\"v\"}","h",[404,"not_found",true],"z=1","instance"]}`},
		},
		{
			name: "redirects within the allowed hosts are followed",
			rule: `async function (user, context, callback) {
  const res = await fetch(configuration.BASE + '/redirect');
  context.idToken.r = [res.status, res.redirected, (await res.json()).ok];
  callback(null, user, context);
}`,
			want: expect{idClaims: `{"r":[200,true,true]}`},
		},
		{
			name: "redirects elsewhere are refused",
			rule: `async function (user, context, callback) {
  try { await fetch(configuration.BASE + '/redirect-out'); } catch (e) { context.idToken.code = e.code; }
  callback(null, user, context);
}`,
			want: expect{idClaims: `{"code":"ERR_LATCH_HOST_NOT_ALLOWED"}`},
		},
		{
			name: "a response larger than 1 MiB fails",
			rule: `function (user, context, callback) {
  require('request').get(configuration.BASE + '/big', function (err) {
    context.idToken.code = err && err.code;
    callback(null, user, context);
  });
}`,
			want: expect{idClaims: `{"code":"ERR_LATCH_RESPONSE_TOO_LARGE"}`},
		},
		{
			name: "a request timeout",
			rule: `function (user, context, callback) {
  require('request').get({ url: configuration.BASE + '/slow', timeout: 100 }, function (err) {
    context.idToken.code = err && err.code;
    callback(null, user, context);
  });
}`,
			want: expect{idClaims: `{"code":"ETIMEDOUT"}`},
		},
		{
			name: "only http and https",
			rule: `function (user, context, callback) {
  fetch('file:///etc/passwd').catch(function (e) { context.idToken.m = e.message; callback(null, user, context); });
}`,
			want: expect{idClaims: `{"m":"latch: invalid URL \"file:///etc/passwd\" (only absolute http: and https: URLs)"}`},
		},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, runReq(t, e, httpRequest(srv.URL, true, tc.rule)))
		})
	}
}

const fetchCode = `async function (user, context, callback) {
  try { await fetch(configuration.BASE + '/json'); context.idToken.code = 'reached'; }
  catch (e) { context.idToken.code = e.code; context.idToken.message = e.message; }
  callback(null, user, context);
}`

func TestOutboundHTTPRefusesPrivateAddresses(t *testing.T) {
	srv := partnerServer(t)
	e := newTestEngine(t)
	resp := runReq(t, e, httpRequest(srv.URL, false, fetchCode))
	if got := resp.IDTokenClaims["code"]; got != "ERR_LATCH_ADDRESS_NOT_ALLOWED" {
		t.Fatalf("code = %v (%v)", got, resp.IDTokenClaims["message"])
	}
}

func TestOutboundHTTPRefusesHostsNotAllowed(t *testing.T) {
	srv := partnerServer(t)
	e := newTestEngine(t)
	req := httpRequest(srv.URL, true, fetchCode)
	req.Limits.AllowedHosts = []string{"api.example.com", "*.127.0.0.1"}
	resp := runReq(t, e, req)
	if got := resp.IDTokenClaims["code"]; got != "ERR_LATCH_HOST_NOT_ALLOWED" {
		t.Fatalf("code = %v", got)
	}
	req.Limits.AllowedHosts = nil
	resp = runReq(t, e, req)
	if got := resp.IDTokenClaims["code"]; got != "ERR_LATCH_HOST_NOT_ALLOWED" {
		t.Fatalf("with no allowed hosts: code = %v", got)
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := f[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// The client resolves names itself and dials the address it checked.
func TestOutboundHTTPDialsTheCheckedAddress(t *testing.T) {
	srv := partnerServer(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	var mu sync.Mutex
	var dialed []string
	e := NewEngine(EngineOptions{
		Resolver: fakeResolver{
			"api.partner.test":  {netip.MustParseAddr("127.0.0.1")},
			"meta.partner.test": {netip.MustParseAddr("169.254.169.254")},
		},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, addr)
			mu.Unlock()
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	})
	req := httpRequest(fmt.Sprintf("http://api.partner.test:%d", port), true, fetchCode)
	req.Limits.AllowedHosts = []string{"*.partner.test"}
	resp := runReq(t, e, req)
	if got := resp.IDTokenClaims["code"]; got != "reached" {
		t.Fatalf("code = %v (%v)", got, resp.IDTokenClaims["message"])
	}
	mu.Lock()
	if len(dialed) != 1 || dialed[0] != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Fatalf("dialed %v", dialed)
	}
	mu.Unlock()

	// Cloud metadata stays out of reach even when private networks are allowed.
	req.Configuration["BASE"] = "http://meta.partner.test"
	resp = runReq(t, e, req)
	if got := resp.IDTokenClaims["code"]; got != "ERR_LATCH_ADDRESS_NOT_ALLOWED" {
		t.Fatalf("metadata: code = %v", got)
	}
	req.Configuration["BASE"] = "http://nowhere.partner.test"
	resp = runReq(t, e, req)
	if got := resp.IDTokenClaims["code"]; got != "ENOTFOUND" {
		t.Fatalf("unknown host: code = %v", got)
	}
}

func TestIPAllowed(t *testing.T) {
	for _, tc := range []struct {
		ip             string
		strict, permit bool
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"10.1.2.3", false, true},
		{"172.16.0.1", false, true},
		{"192.168.1.1", false, true},
		{"100.64.0.1", false, true},
		{"169.254.1.1", false, true},
		{"fe80::1", false, true},
		{"fd00::1", false, true},
		{"::ffff:10.0.0.1", false, true},
		{"64:ff9b::a00:1", false, true},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"169.254.169.254", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
	} {
		ip := netip.MustParseAddr(tc.ip)
		if got := ipAllowed(ip, false); got != tc.strict {
			t.Errorf("ipAllowed(%s, strict) = %v", tc.ip, got)
		}
		if got := ipAllowed(ip, true); got != tc.permit {
			t.Errorf("ipAllowed(%s, private allowed) = %v", tc.ip, got)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	allowed := []string{"api.example.com", "*.partner.test", "127.0.0.1"}
	for host, want := range map[string]bool{
		"api.example.com":    true,
		"API.Example.com.":   true,
		"evil.example.com":   false,
		"api.example.com.ev": false,
		"a.partner.test":     true,
		"a.b.partner.test":   true,
		"partner.test":       false,
		"xpartner.test":      false,
		"127.0.0.1":          true,
		"127.0.0.2":          false,
		"":                   false,
	} {
		if got := hostAllowed(host, allowed); got != want {
			t.Errorf("hostAllowed(%q) = %v", host, got)
		}
	}
}
