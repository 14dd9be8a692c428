package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// certCheckEvery is how often, at most, the certificate files are read again to see
// whether they changed. The check runs during a TLS handshake, so an idle server reads
// nothing; a busy one reads two small files every few seconds.
const certCheckEvery = 5 * time.Second

// Self-signed development certificates are valid this long, and replaced at start when
// they have less than selfSignedRenewBefore left.
const (
	selfSignedValidity    = 365 * 24 * time.Hour
	selfSignedRenewBefore = 24 * time.Hour
)

// listenTLS wraps ln in TLS when the configuration asks for it, and returns ln as it is
// otherwise. It takes ownership of ln: on error ln is closed.
func listenTLS(cfg Config, ln net.Listener, log *slog.Logger) (net.Listener, error) {
	issuerScheme := ""
	if u, err := url.Parse(cfg.Issuer); err == nil {
		issuerScheme = u.Scheme
	}
	if !cfg.TLSEnabled() {
		if issuerScheme == "https" {
			log.Info("serving plain HTTP under an https:// issuer; a TLS-terminating proxy is expected in front", "issuer", cfg.Issuer)
		}
		return ln, nil
	}
	if issuerScheme == "http" {
		log.Info("serving HTTPS under an http:// issuer; clients must use the issuer URL as configured", "issuer", cfg.Issuer)
	}
	conf, err := serverTLSConfig(cfg, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return tls.NewListener(ln, conf), nil
}

// serverTLSConfig returns the TLS configuration latch serves with: TLS 1.2 or later, HTTP/2
// offered, and the certificate of tls_cert/tls_key or the self-signed development one.
func serverTLSConfig(cfg Config, log *slog.Logger) (*tls.Config, error) {
	now := cfg.tlsNow
	if now == nil {
		now = time.Now
	}
	certPath, keyPath := cfg.TLSCert, cfg.TLSKey
	if cfg.TLSSelfSigned {
		host := "localhost"
		if u, err := url.Parse(cfg.Issuer); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		var err error
		certPath, keyPath, err = ensureSelfSigned(filepath.Join(cfg.DataDir, "tls"), host, now(), log)
		if err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		log.Warn("serving HTTPS with a self-signed certificate, for development only; clients must be told to trust it",
			"cert", certPath, "host", host)
	}
	r, err := newCertReloader(certPath, keyPath, now, log)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}, nil
}

// certReloader serves a certificate from two PEM files and picks up new versions of them
// without a restart: during a handshake, at most every certCheckEvery, it reads both files
// and, when their content changed, loads the new pair. Comparing content rather than mtime
// also catches a rewrite within the file system's timestamp granularity and a replacement
// that kept the old mtime. A pair that does not load (a half-done rotation: new certificate,
// old key) is logged and the previous certificate stays in service until the next check.
type certReloader struct {
	certPath, keyPath string
	now               func() time.Time
	log               *slog.Logger

	mu              sync.Mutex
	cert            *tls.Certificate
	certPEM, keyPEM []byte
	checked         time.Time
	lastErr         string
}

func newCertReloader(certPath, keyPath string, now func() time.Time, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certPath: certPath, keyPath: keyPath, now: now, log: log}
	r.checked = now()
	if _, err := r.reloadLocked(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is the tls.Config hook.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= certCheckEvery || now.Before(r.checked) {
		r.checked = now
		changed, err := r.reloadLocked()
		switch {
		case err != nil:
			if msg := err.Error(); msg != r.lastErr {
				r.lastErr = msg
				r.log.Warn("TLS certificate files changed but do not load; still serving the previous certificate", "error", err)
			}
		case changed:
			r.lastErr = ""
			r.log.Info("reloaded the TLS certificate", "cert", r.certPath)
		}
	}
	return r.cert, nil
}

// reloadLocked reads both files and loads them if they differ from what is served.
func (r *certReloader) reloadLocked() (changed bool, err error) {
	certPEM, err := os.ReadFile(r.certPath)
	if err != nil {
		return false, fmt.Errorf("tls_cert: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyPath)
	if err != nil {
		return false, fmt.Errorf("tls_key: %w", err)
	}
	if r.cert != nil && bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM) {
		return false, nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("tls_cert %s and tls_key %s: %w", r.certPath, r.keyPath, err)
	}
	r.cert, r.certPEM, r.keyPEM = &pair, certPEM, keyPEM
	return true, nil
}

// ensureSelfSigned returns the development certificate in dir (cert.pem, and key.pem with
// mode 0600), generating it when there is none, when it does not load, when it is expired
// or about to be, or when it is not valid for every name it must cover (host changed).
func ensureSelfSigned(dir, host string, now time.Time, log *slog.Logger) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	names := selfSignedNames(host)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && selfSignedUsable(leaf, names, now) {
			return certPath, keyPath, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Warn("replacing the self-signed certificate, which does not load", "error", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	certPEM, keyPEM, err := newSelfSigned(names, now)
	if err != nil {
		return "", "", err
	}
	// The key first: a crash between the two renames leaves a pair that does not match,
	// which the next start replaces.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return "", "", err
	}
	log.Info("generated a self-signed TLS certificate", "cert", certPath, "names", names)
	return certPath, keyPath, nil
}

// selfSignedNames are the names the development certificate covers.
func selfSignedNames(host string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	for _, n := range names {
		if n == host {
			return names
		}
	}
	return append(names, host)
}

func selfSignedUsable(leaf *x509.Certificate, names []string, now time.Time) bool {
	if now.Before(leaf.NotBefore) || now.Add(selfSignedRenewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

// newSelfSigned makes an ECDSA P-256 certificate for names, signed by its own key. It is
// a leaf (not a CA), which browsers accept as an exception and TLS libraries accept as a
// trusted certificate (NODE_EXTRA_CA_CERTS, curl --cacert).
func newSelfSigned(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"latch development"}, CommonName: names[len(names)-1]},
		NotBefore:             now.Add(-time.Hour), // some clock skew between server and client
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes data to a temporary file with mode perm and renames it over path,
// so that a reader never sees a partial file and the mode holds from the first byte.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
