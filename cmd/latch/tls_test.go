package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/requestid"
)

// tlsLatch is a real latch serving HTTPS, started the way startLatch starts one. It has
// its own starter because startLatch's readiness probe speaks plain HTTP with the default
// client, which trusts no test certificate.
type tlsLatch struct {
	Addr   string // 127.0.0.1:port
	Config Config
	Output *syncBuffer
	Logs   *syncBuffer

	t      *testing.T
	cancel context.CancelFunc
	done   chan error
}

func startTLSLatch(t *testing.T, mutate func(*Config)) *tlsLatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg := defaults()
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.BcryptCost = testBcryptCost
	cfg.BootstrapClientID = "bootstrap-client"
	cfg.BootstrapClientSecret = "bootstrap-secret-0123456789abcdef0123456789"
	cfg.BootstrapAdminEmail = "" // as startLatch: tests that need a console admin configure one
	mutate(&cfg)
	if problems := cfg.finish(); len(problems) > 0 {
		t.Fatalf("test config: %v", problems)
	}
	l := &tlsLatch{Addr: cfg.Addr, Config: cfg, Output: &syncBuffer{}, Logs: &syncBuffer{}, t: t}
	l.start(ln)
	t.Cleanup(l.Stop)
	return l
}

func (l *tlsLatch) start(ln net.Listener) {
	l.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan error, 1)
	log := slog.New(requestid.NewHandler(slog.NewTextHandler(testLogWriter{l.t, l.Logs}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	go func() { l.done <- serve(ctx, l.Config, ln, l.Output, log) }()
	// Only to wait for readiness: the assertions use clients that verify the certificate.
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true,
	}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := probe.Get("https://" + l.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-l.done:
			l.t.Fatalf("latch exited during start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("latch not ready after 20s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *tlsLatch) Stop() {
	if l.cancel == nil {
		return
	}
	l.cancel()
	l.cancel = nil
	if err := <-l.done; err != nil {
		l.t.Errorf("latch stopped with an error: %v", err)
	}
}

func (l *tlsLatch) Restart() {
	l.t.Helper()
	l.Stop()
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		l.t.Fatalf("listen again: %v", err)
	}
	l.start(ln)
}

// servedCert does a verifying TLS handshake with addr (as 127.0.0.1) and returns the
// certificate the server presented.
func servedCert(t *testing.T, addr string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// httpsClient verifies the server against roots only, and speaks HTTP/2 when offered.
func httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true,
	}}
}

func discoveryIssuer(t *testing.T, c *http.Client, base string) (issuer string, proto int) {
	t.Helper()
	resp, err := c.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("GET discovery: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("discovery %s: %v", body, err)
	}
	return doc.Issuer, resp.ProtoMajor
}

// testCert makes a self-signed ECDSA certificate for 127.0.0.1 with the given serial,
// independently of the code under test.
func testCert(t testing.TB, serial int64) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), cert
}

// fakeClock is the certificate reloader's clock in tests: time moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// With tls_self_signed, latch generates a certificate into the data dir, serves HTTPS with
// it (HTTP/2, https issuer, https banner), refuses plain HTTP, keeps the key private, and
// serves the same certificate after a restart.
func TestTLSSelfSigned(t *testing.T) {
	l := startTLSLatch(t, func(c *Config) { c.TLSSelfSigned = true }) // issuer left to its default

	certPEM, err := os.ReadFile(filepath.Join(l.Config.DataDir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatalf("cert.pem holds no certificate: %s", certPEM)
	}
	block, _ := pem.Decode(certPEM)
	fileCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := fileCert.VerifyHostname(name); err != nil {
			t.Errorf("certificate not valid for %s: %v", name, err)
		}
	}
	if _, ok := fileCert.PublicKey.(*ecdsa.PublicKey); !ok || fileCert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key is %v, want ECDSA", fileCert.PublicKeyAlgorithm)
	}

	// A client that trusts only that file and checks the host name 127.0.0.1.
	c := httpsClient(roots)
	defer c.CloseIdleConnections()
	issuer, proto := discoveryIssuer(t, c, "https://"+l.Addr)
	if !strings.HasPrefix(issuer, "https://") || issuer != "https://"+l.Addr+"/" {
		t.Errorf("issuer %q, want https://%s/", issuer, l.Addr)
	}
	if proto != 2 {
		t.Errorf("served HTTP/%d, want HTTP/2", proto)
	}
	if got := servedCert(t, l.Addr, roots); got.SerialNumber.Cmp(fileCert.SerialNumber) != 0 {
		t.Errorf("served serial %v, file has %v", got.SerialNumber, fileCert.SerialNumber)
	}
	if out := l.Output.String(); !strings.Contains(out, "listening on https://"+l.Addr) {
		t.Errorf("banner does not show the https URL:\n%s", out)
	}
	if logs := l.Logs.String(); !strings.Contains(logs, "self-signed") || !strings.Contains(logs, "development") {
		t.Errorf("no development warning in the log:\n%s", logs)
	}

	// Plain HTTP on the TLS port gets no answer from latch.
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := plain.Get("http://" + l.Addr + "/.well-known/openid-configuration"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "issuer") {
			t.Errorf("plain HTTP on the TLS port answered: %d %s", resp.StatusCode, body)
		}
	}
	// Nor does a TLS 1.1 client.
	if conn, err := tls.Dial("tcp", l.Addr, &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(l.Config.DataDir, "tls", "key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("key.pem mode %v, want 0600", mode)
		}
	}

	l.Restart()
	if got := servedCert(t, l.Addr, roots); got.SerialNumber.Cmp(fileCert.SerialNumber) != 0 {
		t.Errorf("after a restart the served serial is %v, want the same %v", got.SerialNumber, fileCert.SerialNumber)
	}
	again, err := os.ReadFile(filepath.Join(l.Config.DataDir, "tls", "cert.pem"))
	if err != nil || string(again) != string(certPEM) {
		t.Errorf("cert.pem changed across a restart (err %v)", err)
	}
}

// The self-signed certificate is kept while usable, and replaced when the host it must
// cover changes, when it expires, and when its files do not load.
func TestTLSSelfSignedRenewal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now()
	serial := func(host string, at time.Time) *big.Int {
		t.Helper()
		certPath, keyPath, err := ensureSelfSigned(dir, host, at, log)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := leaf.VerifyHostname(host); err != nil {
			t.Fatalf("certificate not valid for %s: %v", host, err)
		}
		return leaf.SerialNumber
	}
	first := serial("127.0.0.1", now)
	if s := serial("127.0.0.1", now.Add(time.Hour)); s.Cmp(first) != 0 {
		t.Errorf("usable certificate replaced")
	}
	if s := serial("localhost", now.Add(time.Hour)); s.Cmp(first) != 0 {
		t.Errorf("certificate replaced for a name it already covers")
	}
	moved := serial("auth.dev.example", now.Add(time.Hour))
	if moved.Cmp(first) == 0 {
		t.Errorf("certificate kept after the host changed")
	}
	if s := serial("auth.dev.example", now.Add(selfSignedValidity+time.Hour)); s.Cmp(moved) == 0 {
		t.Errorf("expired certificate kept")
	}
	writeFile(t, filepath.Join(dir, "key.pem"), []byte("garbage"))
	if _, _, err := ensureSelfSigned(dir, "auth.dev.example", now, log); err != nil {
		t.Fatalf("a broken key file is not replaced: %v", err)
	}
}

// With tls_cert and tls_key, latch serves that certificate, and serves new files once they
// replace the old ones, without a restart. The reloader's clock is a fake one, so when the
// files are looked at again is decided by the test, not by timing.
func TestTLSCertFilesReloaded(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certA, keyA, a := testCert(t, 1001)
	certB, keyB, b := testCert(t, 1002)
	certC, keyC, cc := testCert(t, 1003)
	writeFile(t, certPath, certA)
	writeFile(t, keyPath, keyA)
	roots := x509.NewCertPool()
	for _, c := range []*x509.Certificate{a, b, cc} {
		roots.AddCert(c)
	}
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := startTLSLatch(t, func(c *Config) {
		c.TLSCert, c.TLSKey, c.tlsNow = certPath, keyPath, clock.Now
	})

	served := func() int64 { t.Helper(); return servedCert(t, l.Addr, roots).SerialNumber.Int64() }
	if got := served(); got != 1001 {
		t.Fatalf("serving serial %d, want 1001 (the configured files)", got)
	}
	c := httpsClient(roots)
	defer c.CloseIdleConnections()
	if issuer, _ := discoveryIssuer(t, c, "https://"+l.Addr); issuer != "https://"+l.Addr+"/" {
		t.Errorf("issuer %q", issuer)
	}

	// Rotation: the new files are looked at on the first handshake after the check interval.
	writeFile(t, certPath, certB)
	writeFile(t, keyPath, keyB)
	if got := served(); got != 1001 {
		t.Fatalf("files re-read before the check interval: serial %d", got)
	}
	clock.Advance(certCheckEvery)
	if got := served(); got != 1002 {
		t.Fatalf("after rotating the files latch serves serial %d, want 1002", got)
	}

	// A half-done rotation (new certificate, old key) keeps the previous certificate...
	writeFile(t, certPath, certC)
	clock.Advance(certCheckEvery)
	if got := served(); got != 1002 {
		t.Fatalf("with a mismatched pair on disk latch serves serial %d, want 1002 still", got)
	}
	if logs := l.Logs.String(); !strings.Contains(logs, "do not load") {
		t.Errorf("a pair that does not load is not logged:\n%s", logs)
	}
	// ...until the key arrives.
	writeFile(t, keyPath, keyC)
	clock.Advance(certCheckEvery)
	if got := served(); got != 1003 {
		t.Fatalf("after the key arrived latch serves serial %d, want 1003", got)
	}
}

func TestConfigTLS(t *testing.T) {
	certPEM, keyPEM, _ := testCert(t, 1)
	files := filesOf(map[string]string{"/tls/cert.pem": string(certPEM), "/tls/key.pem": string(keyPEM)})

	cfg, err := loadConfig(nil, envOf(map[string]string{"LATCH_TLS_CERT": "/tls/cert.pem", "LATCH_TLS_KEY": "/tls/key.pem"}), files)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TLSEnabled() || cfg.Issuer != "https://localhost:8080/" {
		t.Errorf("cert and key: TLS %v, issuer %q", cfg.TLSEnabled(), cfg.Issuer)
	}

	cfg, err = loadConfig([]string{"--tls-self-signed"}, envOf(nil), filesOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TLSSelfSigned || !cfg.TLSEnabled() || cfg.Issuer != "https://localhost:8080/" {
		t.Errorf("--tls-self-signed: %v, TLS %v, issuer %q", cfg.TLSSelfSigned, cfg.TLSEnabled(), cfg.Issuer)
	}
	cfg, err = loadConfig(nil, envOf(map[string]string{"LATCH_TLS_SELF_SIGNED": "false"}), filesOf(nil))
	if err != nil || cfg.TLSEnabled() || cfg.Issuer != "http://localhost:8080/" {
		t.Errorf("LATCH_TLS_SELF_SIGNED=false: TLS %v, issuer %q, err %v", cfg.TLSEnabled(), cfg.Issuer, err)
	}
	cfg, err = loadConfig([]string{"--config", "c.json"}, envOf(nil), filesOf(map[string]string{"c.json": `{"tls_self_signed":true}`}))
	if err != nil || !cfg.TLSSelfSigned {
		t.Errorf("tls_self_signed from the config file: %v, err %v", cfg.TLSSelfSigned, err)
	}

	// An explicit issuer keeps its scheme either way: a TLS-terminating proxy may be in front.
	cfg, err = loadConfig(nil, envOf(map[string]string{"LATCH_TLS_SELF_SIGNED": "true", "LATCH_ISSUER": "http://localhost:8080/"}), filesOf(nil))
	if err != nil || cfg.Issuer != "http://localhost:8080/" {
		t.Errorf("http issuer with TLS: %q, err %v", cfg.Issuer, err)
	}
	cfg, err = loadConfig(nil, envOf(map[string]string{"LATCH_ISSUER": "https://auth.example.com/"}), filesOf(nil))
	if err != nil || cfg.TLSEnabled() || cfg.Issuer != "https://auth.example.com/" {
		t.Errorf("https issuer without TLS: %q, err %v", cfg.Issuer, err)
	}

	var help strings.Builder
	usage(&help)
	for _, want := range []string{"LATCH_TLS_CERT", "LATCH_TLS_KEY", "LATCH_TLS_SELF_SIGNED"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("usage does not list %s", want)
		}
	}
}

func TestConfigTLSProblemsReportedAtOnce(t *testing.T) {
	certPEM, keyPEM, _ := testCert(t, 1)
	_, otherKey, _ := testCert(t, 2)
	for _, tc := range []struct {
		name  string
		env   map[string]string
		files map[string]string
		want  []string
	}{{
		name:  "only one of cert and key, self-signed as well, and the cert unreadable",
		env:   map[string]string{"LATCH_TLS_CERT": "/missing/cert.pem", "LATCH_TLS_SELF_SIGNED": "true", "LATCH_BCRYPT_COST": "99"},
		files: nil,
		want:  []string{"tls_cert and tls_key: set both or neither", "tls_self_signed and tls_cert/tls_key", "tls_cert /missing/cert.pem: ", "bcrypt_cost"},
	}, {
		name:  "only the key",
		env:   map[string]string{"LATCH_TLS_KEY": "/tls/key.pem"},
		files: map[string]string{"/tls/key.pem": string(keyPEM)},
		want:  []string{"tls_cert and tls_key: set both or neither"},
	}, {
		name: "both unreadable",
		env:  map[string]string{"LATCH_TLS_CERT": "/gone/cert.pem", "LATCH_TLS_KEY": "/gone/key.pem"},
		want: []string{"tls_cert /gone/cert.pem: ", "tls_key /gone/key.pem: "},
	}, {
		name:  "a key that is not the certificate's",
		env:   map[string]string{"LATCH_TLS_CERT": "/tls/cert.pem", "LATCH_TLS_KEY": "/tls/key.pem"},
		files: map[string]string{"/tls/cert.pem": string(certPEM), "/tls/key.pem": string(otherKey)},
		want:  []string{"tls_cert /tls/cert.pem and tls_key /tls/key.pem"},
	}, {
		name: "not a boolean",
		env:  map[string]string{"LATCH_TLS_SELF_SIGNED": "maybe"},
		want: []string{"LATCH_TLS_SELF_SIGNED", "want true or false"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(nil, envOf(tc.env), filesOf(tc.files))
			if err == nil {
				t.Fatal("want errors")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("errors do not mention %q:\n%v", want, err)
				}
			}
		})
	}

	// With the real file system: a directory where the certificate should be, no key file.
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-key.pem")
	_, err := loadConfig([]string{"--tls-cert", dir, "--tls-key", missing}, envOf(nil), os.ReadFile)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"tls_cert " + dir + ": ", "tls_key " + missing + ": "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors do not mention %q:\n%v", want, err)
		}
	}
}
