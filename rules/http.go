package rules

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// Bounds of outbound HTTP in one run.
const (
	maxInflightRequests = 16      // at the same time
	maxRequestsPerRun   = 64      // in all
	maxResponseBytes    = 1 << 20 // a larger body fails the request
	maxRequestBytes     = 1 << 20
	maxRedirects        = 5
)

// Resolver resolves host names for outbound HTTP (*net.Resolver is one).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Errors of outbound HTTP, as scripts see them (err.code).
var (
	errHostNotAllowed  = errors.New("host not allowed")
	errAddrNotAllowed  = errors.New("address not allowed")
	errBodyTooLarge    = errors.New("response too large")
	errTooManyRequests = errors.New("too many requests")
)

type hostError struct{ host string }

func (e *hostError) Error() string {
	return "latch: outbound HTTP to " + e.host + " is not allowed (it is not in the allowed hosts)"
}
func (e *hostError) Unwrap() error { return errHostNotAllowed }

type addrError struct {
	host string
	ip   netip.Addr
}

func (e *addrError) Error() string {
	return fmt.Sprintf("latch: %s resolves to %s, a private or reserved address", e.host, e.ip)
}
func (e *addrError) Unwrap() error { return errAddrNotAllowed }

// hostAllowed matches a host against Limits.AllowedHosts: exact names (case-insensitive) or
// "*.example.com", which matches the subdomains of example.com but not example.com itself.
// IP literals match only when listed as such.
func hostAllowed(host string, allowed []string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return false
	}
	for _, a := range allowed {
		a = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a)), ".")
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == a {
			return true
		}
	}
	return false
}

// Always refused, even with AllowPrivateNetworks: cloud metadata endpoints.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack...
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
}

// Refused unless AllowPrivateNetworks, with loopback, RFC 1918, ULA and link-local.
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 could reach any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"), // 6to4, same
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("fec0::/10"),
}

// ipAllowed says whether outbound HTTP may connect to ip.
func ipAllowed(ip netip.Addr, allowPrivate bool) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() {
		return false
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return false
		}
	}
	if allowPrivate {
		return true
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range reservedPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

type allowedHostsKey struct{}

// newHTTPClient builds the client all of one Engine's scripts share for one private-network
// policy. It resolves names itself, refuses addresses the policy forbids and dials the
// address it checked, so that DNS cannot answer differently between check and connect. It
// uses no proxy from the environment. Redirects are followed only to allowed hosts (taken
// from the request's context).
func newHTTPClient(opts EngineOptions, allowPrivate bool) *http.Client {
	resolver := opts.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	dial := opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	dialChecked := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else {
			ips, err = resolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
		}
		var firstErr error
		for _, ip := range ips {
			if !ipAllowed(ip, allowPrivate) {
				if firstErr == nil {
					firstErr = &addrError{host: host, ip: ip}
				}
				continue
			}
			conn, err := dial(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
			if err == nil {
				return conn, nil
			}
			if firstErr == nil || errors.As(firstErr, new(*addrError)) {
				firstErr = err
			}
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("no address for %s", host)
		}
		return nil, firstErr
	}
	var tlsConf *tls.Config
	if opts.TLSClientConfig != nil {
		tlsConf = opts.TLSClientConfig.Clone()
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialChecked,
		TLSClientConfig:        tlsConf,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        60 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("latch: redirect to a %s: URL", req.URL.Scheme)
			}
			allowed, _ := req.Context().Value(allowedHostsKey{}).([]string)
			if !hostAllowed(req.URL.Hostname(), allowed) {
				return &hostError{host: req.URL.Hostname()}
			}
			return nil
		},
	}
}

// httpCall is one outbound request a script made.
type httpCall struct {
	method  string
	url     *url.URL
	headers http.Header
	body    []byte
	timeout time.Duration
}

type httpResult struct {
	status     int
	statusText string
	headers    map[string]string
	body       string
	url        string
	redirected bool
}

func (r *run) httpNative() *goja.Object {
	n := r.vm.NewObject()
	_ = n.Set("request", r.httpRequest)
	return n
}

// httpRequest is native.request(options, callback): it starts the request and returns; the
// callback runs on the event loop with (err) or (null, response).
func (r *run) httpRequest(call goja.FunctionCall) goja.Value {
	cb, ok := goja.AssertFunction(call.Argument(1))
	if !ok {
		panic(r.vm.NewTypeError("callback must be a function"))
	}
	if r.inflight >= maxInflightRequests {
		panic(r.limitError(fmt.Sprintf("latch: more than %d outbound requests at the same time", maxInflightRequests)))
	}
	owner := r.script
	hc, err := r.buildHTTPCall(call.Argument(0))
	if err == nil && r.requests >= maxRequestsPerRun {
		err = fmt.Errorf("latch: more than %d outbound requests in one login: %w", maxRequestsPerRun, errTooManyRequests)
	}
	r.inflight++
	if err != nil {
		r.events <- event{owner: owner, run: func() error { return r.deliverHTTP(cb, nil, err) }}
		return goja.Undefined()
	}
	r.requests++
	ctx := context.WithValue(r.ctx, allowedHostsKey{}, r.lim.AllowedHosts)
	timeout := time.Until(r.scriptDeadline)
	if hc.timeout > 0 && hc.timeout < timeout {
		timeout = hc.timeout
	}
	client := r.e.httpClient(r.lim.AllowPrivateNetworks)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		res, err := doHTTP(ctx, client, hc)
		r.events <- event{owner: owner, run: func() error { return r.deliverHTTP(cb, res, err) }}
	}()
	return goja.Undefined()
}

func (r *run) buildHTTPCall(v goja.Value) (*httpCall, error) {
	opts, ok := v.(*goja.Object)
	if !ok {
		return nil, errors.New("latch: request options must be an object")
	}
	raw := ""
	if u := opts.Get("url"); u != nil && !goja.IsUndefined(u) {
		raw = u.String()
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("latch: invalid URL %q (only absolute http: and https: URLs)", truncate(raw, 200))
	}
	if !hostAllowed(u.Hostname(), r.lim.AllowedHosts) {
		return nil, &hostError{host: u.Hostname()}
	}
	hc := &httpCall{method: "GET", url: u, headers: http.Header{}}
	if m := opts.Get("method"); m != nil && !goja.IsUndefined(m) {
		hc.method = strings.ToUpper(m.String())
	}
	if h, ok := opts.Get("headers").(*goja.Object); ok {
		for _, k := range h.Keys() {
			if val := h.Get(k); val != nil && !goja.IsUndefined(val) && !goja.IsNull(val) {
				hc.headers.Set(k, val.String())
			}
		}
	}
	if b := opts.Get("body"); b != nil && !goja.IsUndefined(b) && !goja.IsNull(b) {
		if obj, ok := b.(*goja.Object); ok {
			if bs, ok := bytesValue(obj); ok {
				hc.body = bytes.Clone(bs)
			} else {
				hc.body = []byte(b.String())
			}
		} else {
			hc.body = []byte(b.String())
		}
		if len(hc.body) > maxRequestBytes {
			return nil, errors.New("latch: request body larger than 1 MiB")
		}
	}
	if t := opts.Get("timeout"); t != nil && !goja.IsUndefined(t) {
		if ms := t.ToFloat(); ms > 0 {
			hc.timeout = time.Duration(ms * float64(time.Millisecond))
		}
	}
	return hc, nil
}

// doHTTP runs on its own goroutine: it must not touch the VM.
func doHTTP(ctx context.Context, client *http.Client, hc *httpCall) (*httpResult, error) {
	var body io.Reader
	if hc.body != nil {
		body = bytes.NewReader(hc.body)
	}
	req, err := http.NewRequestWithContext(ctx, hc.method, hc.url.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header = hc.headers
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("latch: the response from %s is larger than 1 MiB: %w", hc.url.Hostname(), errBodyTooLarge)
	}
	res := &httpResult{
		status:     resp.StatusCode,
		statusText: strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode))),
		headers:    map[string]string{},
		body:       string(b),
		url:        resp.Request.URL.String(),
		redirected: resp.Request.URL.String() != hc.url.String(),
	}
	for k, vs := range resp.Header {
		res.headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return res, nil
}

// deliverHTTP runs the script's callback on the event loop.
func (r *run) deliverHTTP(cb goja.Callable, res *httpResult, err error) error {
	if err != nil {
		e := r.newError("Error", httpErrorMessage(err))
		_ = e.Set("code", httpErrorCode(err))
		_, cerr := r.call(cb, goja.Undefined(), e)
		return cerr
	}
	o := r.vm.NewObject()
	_ = o.Set("status", res.status)
	_ = o.Set("statusText", res.statusText)
	_ = o.Set("headers", toJS(r.vm, res.headers))
	_ = o.Set("body", res.body)
	_ = o.Set("url", res.url)
	_ = o.Set("redirected", res.redirected)
	_, cerr := r.call(cb, goja.Undefined(), goja.Null(), o)
	return cerr
}

func httpErrorMessage(err error) string {
	var he *hostError
	if errors.As(err, &he) {
		return he.Error()
	}
	var ae *addrError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + ue.URL + ": " + ue.Err.Error()
	}
	return err.Error()
}

func httpErrorCode(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, errHostNotAllowed):
		return "ERR_LATCH_HOST_NOT_ALLOWED"
	case errors.Is(err, errAddrNotAllowed):
		return "ERR_LATCH_ADDRESS_NOT_ALLOWED"
	case errors.Is(err, errBodyTooLarge):
		return "ERR_LATCH_RESPONSE_TOO_LARGE"
	case errors.Is(err, errTooManyRequests):
		return "ERR_LATCH_TOO_MANY_REQUESTS"
	case errors.Is(err, context.DeadlineExceeded):
		return "ETIMEDOUT"
	case errors.As(err, &dnsErr):
		return "ENOTFOUND"
	case strings.Contains(err.Error(), "connection refused"):
		return "ECONNREFUSED"
	}
	return "EREQUEST"
}
