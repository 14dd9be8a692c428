package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/server/mgmtapi"
	"github.com/latchauth/latch/tokens"
)

// Config is latch's whole configuration. Precedence: flags > environment (LATCH_*, with
// *_FILE variants for secrets) > config file (JSON) > defaults.
type Config struct {
	Addr                  string `json:"addr"`
	Issuer                string `json:"issuer"`
	DataDir               string `json:"data_dir"`
	SecretKey             string `json:"secret_key"`
	BootstrapClientID     string `json:"bootstrap_client_id"`
	BootstrapClientSecret string `json:"bootstrap_client_secret"`
	// BootstrapAdminEmail names the console admin created at first start ("-" creates none);
	// BootstrapAdminPassword is its password (default: generated and printed once).
	BootstrapAdminEmail    string `json:"bootstrap_admin_email"`
	BootstrapAdminPassword string `json:"bootstrap_admin_password"`
	// Admins, AdminRole, ViewerRole and ConsoleSessionTimeout say who may use the admin
	// console (flow.ConsoleSettings); Admins is comma-separated user ids and emails.
	Admins                string   `json:"admins"`
	AdminRole             string   `json:"admin_role"`
	ViewerRole            string   `json:"viewer_role"`
	ConsoleSessionTimeout Duration `json:"console_session_timeout"`
	BcryptCost            int      `json:"bcrypt_cost"`
	HashConcurrency       int      `json:"hash_concurrency"`
	HashWait              Duration `json:"hash_wait"`
	LogLevel              string   `json:"log_level"`
	LogFormat             string   `json:"log_format"`

	RulesTimeout       Duration `json:"rules_timeout"`
	RulesScriptTimeout Duration `json:"rules_script_timeout"`
	RulesAllowedHosts  string   `json:"rules_allowed_hosts"`
	RulesWorkers       int      `json:"rules_workers"`
	RulesWorkerMemory  int      `json:"rules_worker_memory_mib"`
	// RulesPrivateNetworks lets rules call loopback and private addresses (tests, trusted
	// networks); "true" or "false".
	RulesPrivateNetworks string `json:"rules_allow_private_networks"`

	MetricsAddr string `json:"metrics_addr"`
	// OTelEndpoint is an OTLP/HTTP collector to send traces to (empty: no traces);
	// OTelSampleRatio the share of new traces sent, "0.01" to "1".
	OTelEndpoint    string `json:"otel_endpoint"`
	OTelSampleRatio string `json:"otel_sample_ratio"`

	// TLSCert and TLSKey are PEM files latch serves HTTPS with (both or neither); they are
	// re-read when they change, so a renewed certificate needs no restart (see tls.go).
	TLSCert string `json:"tls_cert"`
	TLSKey  string `json:"tls_key"`
	// TLSSelfSigned serves HTTPS with a certificate generated into <data_dir>/tls, for
	// development only.
	TLSSelfSigned bool `json:"tls_self_signed"`

	// TrustedProxies: comma-separated IPs and CIDRs of the proxies in front of latch, whose
	// X-Forwarded-For names the client.
	TrustedProxies string `json:"trusted_proxies"`
	// AttackProtectionAllowlist: comma-separated IPs and CIDRs exempt from brute-force
	// protection and suspicious-IP throttling.
	AttackProtectionAllowlist string `json:"attack_protection_allowlist"`

	// Session and token lifetimes of browser logins.
	SessionIdle     Duration `json:"session_idle"`
	SessionLifetime Duration `json:"session_lifetime"`

	// LogRetention is how long auth events (GET /api/v2/logs) are kept.
	LogRetention Duration `json:"log_retention"`
	// Store is the durable store: "sqlite" (embedded, one instance) or "mongo" (MongoURI).
	Store    string `json:"store"`
	MongoURI string `json:"mongo_uri"`
	// RedisURL, when set, holds the shared short-lived state and carries change notices, so
	// that several instances can serve together; without it the state is in process.
	RedisURL string `json:"redis_url"`
	// ImportMaxMiB bounds the users file of an import job.
	ImportMaxMiB int `json:"import_max_mib"`
	// MgmtRateLimit and MgmtRateBurst limit each Management API client (requests per second,
	// and at once); MgmtClientRateLimits overrides them per client: "id=rps:burst,...".
	MgmtRateLimit        int    `json:"mgmt_rate_limit"`
	MgmtRateBurst        int    `json:"mgmt_rate_burst"`
	MgmtClientRateLimits string `json:"mgmt_client_rate_limits"`

	// Branding of the hosted pages (see web.Brand).
	BrandName            string `json:"brand_name"`
	BrandLogoURL         string `json:"brand_logo_url"`
	BrandPrimaryColor    string `json:"brand_primary_color"`
	BrandBackgroundColor string `json:"brand_background_color"`
	BrandCustomCSS       string `json:"brand_custom_css"`
	PagesTemplatesDir    string `json:"pages_templates_dir"`

	// Outgoing email (see package mail). Without SMTPURL, messages are written to the log
	// (development only).
	SMTPURL          string   `json:"smtp_url"`
	MailFrom         string   `json:"mail_from"`
	SMTPCAFile       string   `json:"smtp_ca_file"`
	SMTPTimeout      Duration `json:"smtp_timeout"`
	MailTemplatesDir string   `json:"mail_templates_dir"`
	// MailVerifySignups mails a verification link after each signup: "true", "false", or ""
	// for true when SMTPURL is set (without a mail server nobody could follow the link).
	MailVerifySignups string `json:"mail_verify_signups"`

	// tlsNow, when set, is the clock the certificate reloader reads (tests drive reloads
	// with it). It is no setting: no flag, variable or config key reaches it.
	tlsNow func() time.Time
}

// TLSEnabled reports whether latch itself serves HTTPS (rather than plain HTTP, perhaps
// behind a TLS-terminating proxy).
func (c Config) TLSEnabled() bool { return c.TLSSelfSigned || c.TLSCert != "" || c.TLSKey != "" }

// Duration is a time.Duration written as Go writes it ("20s", "1m30s") in every source.
type Duration time.Duration

// UnmarshalJSON reads "20s" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a duration like \"20s\"")
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration like \"20s\": %w", err)
	}
	*d = Duration(v)
	return nil
}

func defaults() Config {
	return Config{
		Addr: "localhost:8080", DataDir: "./data", BcryptCost: 10, LogLevel: "info", LogFormat: "text",
		HashWait:     Duration(10 * time.Second),
		RulesTimeout: Duration(20 * time.Second), RulesScriptTimeout: Duration(5 * time.Second),
		RulesWorkers: 0, RulesWorkerMemory: 256,
		SessionIdle: Duration(72 * time.Hour), SessionLifetime: Duration(7 * 24 * time.Hour),
		LogRetention:  Duration(30 * 24 * time.Hour),
		ImportMaxMiB:  64,
		Store:         "sqlite",
		MgmtRateLimit: 50, MgmtRateBurst: 100,
		SMTPTimeout:           Duration(mail.DefaultTimeout),
		OTelSampleRatio:       "1",
		BootstrapAdminEmail:   "admin@latch.example",
		ConsoleSessionTimeout: Duration(flow.DefaultConsoleSessionTimeout),
	}
}

// setting describes one configuration key: its names in each source and where it lands.
type setting struct {
	key    string // JSON key in the config file; the flag is the same with '-' for '_'
	env    string
	secret bool // may come from <env>_FILE; redacted in logs
	str    *string
	num    *int
	dur    *Duration
	bl     *bool // true or false; a bare --flag means true
	usage  string
}

func (c *Config) settings() []setting {
	return []setting{
		{key: "addr", env: "LATCH_ADDR", str: &c.Addr, usage: "listen address (host:port)"},
		{key: "issuer", env: "LATCH_ISSUER", str: &c.Issuer, usage: "issuer URL, always ending in / (default http://<addr>/)"},
		{key: "data_dir", env: "LATCH_DATA_DIR", str: &c.DataDir, usage: "directory for the embedded store and generated secrets"},
		{key: "store", env: "LATCH_STORE", str: &c.Store, usage: "durable store: sqlite (embedded, one instance) or mongo (mongo_uri)"},
		{key: "mongo_uri", env: "LATCH_MONGO_URI", secret: true, str: &c.MongoURI, usage: "MongoDB connection string (mongodb://..., with the database name in the path) when store is mongo"},
		{key: "redis_url", env: "LATCH_REDIS_URL", secret: true, str: &c.RedisURL, usage: "Redis URL (redis://, rediss://, unix://; redis+cluster://, rediss+cluster:// for a Redis Cluster) for the shared short-lived state of several instances"},
		{key: "secret_key", env: "LATCH_SECRET_KEY", secret: true, str: &c.SecretKey, usage: "key-encryption key: base64 of 32 bytes (default: generated into the data dir)"},
		{key: "bootstrap_client_id", env: "LATCH_BOOTSTRAP_CLIENT_ID", str: &c.BootstrapClientID, usage: "client_id of the Management API client created at first start"},
		{key: "bootstrap_client_secret", env: "LATCH_BOOTSTRAP_CLIENT_SECRET", secret: true, str: &c.BootstrapClientSecret, usage: "its client_secret (default: generated and printed once)"},
		{key: "bootstrap_admin_email", env: "LATCH_BOOTSTRAP_ADMIN_EMAIL", str: &c.BootstrapAdminEmail, usage: "email of the admin console user created at first start (\"-\": none)"},
		{key: "bootstrap_admin_password", env: "LATCH_BOOTSTRAP_ADMIN_PASSWORD", secret: true, str: &c.BootstrapAdminPassword, usage: "its password (default: generated and printed once)"},
		{key: "admins", env: "LATCH_ADMINS", str: &c.Admins, usage: "comma-separated user ids and verified emails that may use the admin console with every Management API scope"},
		{key: "admin_role", env: "LATCH_ADMIN_ROLE", str: &c.AdminRole, usage: "role in app_metadata.roles that makes a user a console admin (\"-\": none)"},
		{key: "viewer_role", env: "LATCH_VIEWER_ROLE", str: &c.ViewerRole, usage: "role in app_metadata.roles that gives the console's read-only access (\"-\": none)"},
		{key: "console_session_timeout", env: "LATCH_CONSOLE_SESSION_TIMEOUT", dur: &c.ConsoleSessionTimeout, usage: "how long a console sign-in lasts before the password is asked again"},
		{key: "bcrypt_cost", env: "LATCH_BCRYPT_COST", num: &c.BcryptCost, usage: "bcrypt cost for new password hashes"},
		{key: "hash_concurrency", env: "LATCH_HASH_CONCURRENCY", num: &c.HashConcurrency, usage: "password hashes computed at once (0: twice the CPUs)"},
		{key: "hash_wait", env: "LATCH_HASH_WAIT", dur: &c.HashWait, usage: "how long a login waits for a hashing turn before a 429"},
		{key: "log_level", env: "LATCH_LOG_LEVEL", str: &c.LogLevel, usage: "debug, info, warn or error"},
		{key: "log_format", env: "LATCH_LOG_FORMAT", str: &c.LogFormat, usage: "text or json"},
		{key: "rules_timeout", env: "LATCH_RULES_TIMEOUT", dur: &c.RulesTimeout, usage: "time budget of a whole rules pipeline"},
		{key: "rules_script_timeout", env: "LATCH_RULES_SCRIPT_TIMEOUT", dur: &c.RulesScriptTimeout, usage: "time budget of one rule or action"},
		{key: "rules_allowed_hosts", env: "LATCH_RULES_ALLOWED_HOSTS", str: &c.RulesAllowedHosts, usage: "comma-separated hosts (or *.suffix) rules may call over HTTP; empty: none"},
		{key: "rules_workers", env: "LATCH_RULES_WORKERS", num: &c.RulesWorkers, usage: "rule worker processes (0: twice the CPUs, at least 4)"},
		{key: "rules_worker_memory_mib", env: "LATCH_RULES_WORKER_MEMORY_MIB", num: &c.RulesWorkerMemory, usage: "memory (RSS) at which a rule worker is killed"},
		{key: "rules_allow_private_networks", env: "LATCH_RULES_ALLOW_PRIVATE_NETWORKS", str: &c.RulesPrivateNetworks, usage: "let rules call loopback and private addresses: true or false"},
		{key: "metrics_addr", env: "LATCH_METRICS_ADDR", str: &c.MetricsAddr, usage: "listen address of Prometheus /metrics (empty: not served)"},
		{key: "otel_endpoint", env: "LATCH_OTEL_ENDPOINT", str: &c.OTelEndpoint, usage: "OpenTelemetry collector's OTLP/HTTP URL (e.g. http://otel-collector:4318) to send traces to; empty: none"},
		{key: "otel_sample_ratio", env: "LATCH_OTEL_SAMPLE_RATIO", str: &c.OTelSampleRatio, usage: "share of new traces sent, in (0, 1]; requests with a sampled traceparent are always traced"},
		{key: "tls_cert", env: "LATCH_TLS_CERT", str: &c.TLSCert, usage: "PEM certificate (chain) file to serve HTTPS with; reloaded when it changes"},
		{key: "tls_key", env: "LATCH_TLS_KEY", str: &c.TLSKey, usage: "PEM private key file of tls_cert"},
		{key: "trusted_proxies", env: "LATCH_TRUSTED_PROXIES", str: &c.TrustedProxies, usage: "comma-separated IPs and CIDRs of the proxies in front of latch (their X-Forwarded-For names the client)"},
		{key: "attack_protection_allowlist", env: "LATCH_ATTACK_PROTECTION_ALLOWLIST", str: &c.AttackProtectionAllowlist, usage: "comma-separated IPs and CIDRs exempt from brute-force protection and suspicious-IP throttling"},
		{key: "session_idle", env: "LATCH_SESSION_IDLE", dur: &c.SessionIdle, usage: "an SSO session not used for this long ends"},
		{key: "session_lifetime", env: "LATCH_SESSION_LIFETIME", dur: &c.SessionLifetime, usage: "an SSO session ends this long after the login in any case"},
		{key: "log_retention", env: "LATCH_LOG_RETENTION", dur: &c.LogRetention, usage: "how long auth events (GET /api/v2/logs) are kept"},
		{key: "import_max_mib", env: "LATCH_IMPORT_MAX_MIB", num: &c.ImportMaxMiB, usage: "largest users file a user import job takes, in MiB"},
		{key: "mgmt_rate_limit", env: "LATCH_MGMT_RATE_LIMIT", num: &c.MgmtRateLimit, usage: "Management API requests per second each client may make"},
		{key: "mgmt_rate_burst", env: "LATCH_MGMT_RATE_BURST", num: &c.MgmtRateBurst, usage: "Management API requests a client may make at once"},
		{key: "mgmt_client_rate_limits", env: "LATCH_MGMT_CLIENT_RATE_LIMITS", str: &c.MgmtClientRateLimits, usage: "per-client Management API limits: client_id=rps:burst, comma-separated"},
		{key: "brand_name", env: "LATCH_BRAND_NAME", str: &c.BrandName, usage: "product name on the hosted pages (default latch)"},
		{key: "brand_logo_url", env: "LATCH_BRAND_LOGO_URL", str: &c.BrandLogoURL, usage: "logo on the hosted pages: an https:// URL"},
		{key: "brand_primary_color", env: "LATCH_BRAND_PRIMARY_COLOR", str: &c.BrandPrimaryColor, usage: "buttons and links on the hosted pages: #rgb or #rrggbb"},
		{key: "brand_background_color", env: "LATCH_BRAND_BACKGROUND_COLOR", str: &c.BrandBackgroundColor, usage: "page background of the hosted pages: #rgb or #rrggbb"},
		{key: "brand_custom_css", env: "LATCH_BRAND_CUSTOM_CSS", str: &c.BrandCustomCSS, usage: "a CSS file added to every hosted page"},
		{key: "pages_templates_dir", env: "LATCH_PAGES_TEMPLATES_DIR", str: &c.PagesTemplatesDir, usage: "a directory of templates that replace the hosted pages' own, by file name"},
		{key: "tls_self_signed", env: "LATCH_TLS_SELF_SIGNED", bl: &c.TLSSelfSigned, usage: "serve HTTPS with a self-signed certificate generated into <data_dir>/tls (development only): true or false"},
		{key: "smtp_url", env: "LATCH_SMTP_URL", secret: true, str: &c.SMTPURL, usage: "mail server: smtp://user:password@host:587 (STARTTLS) or smtps://…:465; empty: emails go to the log (development)"},
		{key: "mail_from", env: "LATCH_MAIL_FROM", str: &c.MailFrom, usage: "sender of latch's email: \"Acme <no-reply@acme.example>\" (required with smtp_url)"},
		{key: "smtp_ca_file", env: "LATCH_SMTP_CA_FILE", str: &c.SMTPCAFile, usage: "PEM file of the CAs that sign the mail server's certificate (default: the system's)"},
		{key: "smtp_timeout", env: "LATCH_SMTP_TIMEOUT", dur: &c.SMTPTimeout, usage: "bound on dialing the mail server and on each SMTP command"},
		{key: "mail_templates_dir", env: "LATCH_MAIL_TEMPLATES_DIR", str: &c.MailTemplatesDir, usage: "a directory of templates that replace the emails' own, by file name"},
		{key: "mail_verify_signups", env: "LATCH_MAIL_VERIFY_SIGNUPS", str: &c.MailVerifySignups, usage: "mail a verification link after each signup: true or false (default: true when smtp_url is set)"},
	}
}

// loadConfig reads the configuration from args, the environment and the config file named
// by --config or LATCH_CONFIG. Every problem found is reported at once.
func loadConfig(args []string, getenv func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	cfg := defaults()
	fs := flag.NewFlagSet("latch serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", "", "path to a JSON config file (env LATCH_CONFIG)")
	flagVals := map[string]*string{}
	for _, s := range cfg.settings() {
		name, help := strings.ReplaceAll(s.key, "_", "-"), s.usage+" (env "+s.env+")"
		if s.bl != nil {
			v := boolFlag("")
			fs.Var(&v, name, help)
			flagVals[s.key] = (*string)(&v)
			continue
		}
		flagVals[s.key] = fs.String(name, "", help)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}

	var problems []error
	path := *configPath
	if path == "" {
		path = getenv("LATCH_CONFIG")
	}
	if path != "" {
		if err := cfg.applyFile(path, readFile); err != nil {
			problems = append(problems, err)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[strings.ReplaceAll(f.Name, "-", "_")] = true })
	for _, s := range cfg.settings() {
		val, from, ok := "", "", false
		if v := getenv(s.env); v != "" {
			val, from, ok = v, s.env, true
		}
		if s.secret {
			if file := getenv(s.env + "_FILE"); file != "" {
				if ok {
					problems = append(problems, fmt.Errorf("%s and %s_FILE are both set; use one", s.env, s.env))
				}
				if data, err := readFile(file); err != nil {
					problems = append(problems, fmt.Errorf("%s_FILE: %w", s.env, err))
				} else {
					val, from, ok = strings.TrimSpace(string(data)), s.env+"_FILE", true
				}
			}
		}
		if set[s.key] {
			val, from, ok = *flagVals[s.key], "--"+strings.ReplaceAll(s.key, "_", "-"), true
		}
		if ok {
			if err := s.assign(val); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", from, err))
			}
		}
	}
	problems = append(problems, cfg.finish()...)
	problems = append(problems, cfg.checkTLSFiles(readFile)...)
	return cfg, errors.Join(problems...)
}

func (s setting) assign(v string) error {
	if s.dur != nil {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 20s", v)
		}
		*s.dur = Duration(d)
		return nil
	}
	if s.num != nil {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*s.num = n
		return nil
	}
	if s.bl != nil {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q: want true or false", v)
		}
		*s.bl = b
		return nil
	}
	*s.str = v
	return nil
}

// applyFile reads a JSON config file. Unknown keys are errors, so a typo never goes unnoticed.
func (c *Config) applyFile(path string, readFile func(string) ([]byte, error)) error {
	data, err := readFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// finish fills derived defaults and validates; it returns every problem.
func (c *Config) finish() []error {
	var problems []error
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		problems = append(problems, fmt.Errorf("addr %q: want host:port", c.Addr))
	}
	if c.Issuer == "" && err == nil {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.Issuer = c.scheme() + "://" + net.JoinHostPort(host, port) + "/"
	}
	if c.Issuer != "" {
		u, err := url.Parse(c.Issuer)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			problems = append(problems, fmt.Errorf("issuer %q: want an absolute http(s) URL", c.Issuer))
		case u.RawQuery != "" || u.Fragment != "":
			problems = append(problems, fmt.Errorf("issuer %q: must not have a query or fragment", c.Issuer))
		case !strings.HasSuffix(c.Issuer, "/"):
			c.Issuer += "/"
		}
	}
	if c.DataDir == "" {
		problems = append(problems, errors.New("data_dir must not be empty"))
	}
	if c.SecretKey != "" {
		if _, err := tokens.ParseKEK(c.SecretKey); err != nil {
			problems = append(problems, fmt.Errorf("secret_key: %w", err))
		}
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		problems = append(problems, fmt.Errorf("bcrypt_cost %d: want %d to %d", c.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost))
	}
	if (c.BootstrapClientSecret != "") && len(c.BootstrapClientSecret) < 32 {
		problems = append(problems, errors.New("bootstrap_client_secret: want at least 32 characters"))
	}
	switch c.RulesPrivateNetworks {
	case "", "true", "false":
	default:
		problems = append(problems, fmt.Errorf("rules_allow_private_networks %q: want true or false", c.RulesPrivateNetworks))
	}
	if _, err := c.sampleRatio(); err != nil {
		problems = append(problems, err)
	}
	if c.OTelEndpoint != "" {
		if u, err := url.Parse(c.OTelEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Errorf("otel_endpoint %q: want an http:// or https:// URL", c.OTelEndpoint))
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			problems = append(problems, fmt.Errorf("metrics_addr %q: want host:port", c.MetricsAddr))
		}
	}
	if _, err := c.trustedProxies(); err != nil {
		problems = append(problems, err)
	}
	if _, err := c.allowlist(); err != nil {
		problems = append(problems, err)
	}
	if c.SessionIdle <= 0 || c.SessionLifetime <= 0 || c.SessionIdle > c.SessionLifetime {
		problems = append(problems, errors.New("session_idle and session_lifetime must be positive, the idle limit no longer than the lifetime"))
	}
	switch c.Store {
	case "sqlite":
		if c.MongoURI != "" {
			problems = append(problems, errors.New("mongo_uri is set but store is sqlite; set store to mongo"))
		}
	case "mongo":
		if c.MongoURI == "" {
			problems = append(problems, errors.New("store mongo needs mongo_uri"))
		}
		// Every instance must read the signing keys the others made.
		if c.SecretKey == "" {
			problems = append(problems, errors.New("store mongo needs secret_key, the same on every instance"))
		}
	default:
		problems = append(problems, fmt.Errorf("store %q: want sqlite or mongo", c.Store))
	}
	if c.MgmtRateLimit < 1 || c.MgmtRateBurst < 1 {
		problems = append(problems, fmt.Errorf("mgmt_rate_limit %d, mgmt_rate_burst %d: want at least 1 each", c.MgmtRateLimit, c.MgmtRateBurst))
	}
	if _, err := c.clientRateLimits(); err != nil {
		problems = append(problems, err)
	}
	if c.ImportMaxMiB < 1 || c.ImportMaxMiB > 4096 {
		problems = append(problems, fmt.Errorf("import_max_mib %d: want 1 to 4096", c.ImportMaxMiB))
	}
	if c.LogRetention <= 0 {
		problems = append(problems, fmt.Errorf("log_retention %v: want a positive duration", time.Duration(c.LogRetention)))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		problems = append(problems, err)
	}
	if c.RulesTimeout <= 0 || c.RulesScriptTimeout <= 0 || c.RulesScriptTimeout > c.RulesTimeout {
		problems = append(problems, fmt.Errorf("rules_script_timeout %v and rules_timeout %v: want 0 < script ≤ pipeline", time.Duration(c.RulesScriptTimeout), time.Duration(c.RulesTimeout)))
	}
	if c.HashConcurrency < 0 || c.HashConcurrency > 1024 || c.HashWait <= 0 {
		problems = append(problems, fmt.Errorf("hash_concurrency %d / hash_wait %v: want 0 to 1024 and a positive wait", c.HashConcurrency, time.Duration(c.HashWait)))
	}
	if c.RulesWorkers < 0 || c.RulesWorkers > 256 {
		problems = append(problems, fmt.Errorf("rules_workers %d: want 0 to 256", c.RulesWorkers))
	}
	if c.RulesWorkerMemory < 64 {
		problems = append(problems, fmt.Errorf("rules_worker_memory_mib %d: want at least 64", c.RulesWorkerMemory))
	}
	for _, h := range c.AllowedHosts() {
		if strings.ContainsAny(h, "/:@ ") || h == "*" || h == "*." {
			problems = append(problems, fmt.Errorf("rules_allowed_hosts: %q is not a host name or *.suffix", h))
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Errorf("log_format %q: want text or json", c.LogFormat))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, errors.New("tls_cert and tls_key: set both or neither"))
	}
	if c.TLSSelfSigned && (c.TLSCert != "" || c.TLSKey != "") {
		problems = append(problems, errors.New("tls_self_signed and tls_cert/tls_key: use one or the other"))
	}
	problems = append(problems, c.checkMail()...)
	return problems
}

// scheme is the scheme latch itself serves: https when TLS is on.
func (c Config) scheme() string {
	if c.TLSEnabled() {
		return "https"
	}
	return "http"
}

// checkTLSFiles reads tls_cert and tls_key, so that a missing or unreadable file, or a
// certificate that does not match its key, is a configuration problem found at start.
func (c Config) checkTLSFiles(readFile func(string) ([]byte, error)) []error {
	var problems []error
	read := func(key, path string) []byte {
		if path == "" {
			return nil
		}
		data, err := readFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is said once, below
			}
			problems = append(problems, fmt.Errorf("%s %s: %w", key, path, err))
		}
		return data
	}
	certPEM, keyPEM := read("tls_cert", c.TLSCert), read("tls_key", c.TLSKey)
	if len(problems) == 0 && c.TLSCert != "" && c.TLSKey != "" {
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			problems = append(problems, fmt.Errorf("tls_cert %s and tls_key %s: %w", c.TLSCert, c.TLSKey, err))
		}
	}
	return problems
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log_level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Redacted lists the effective configuration for the start-up log, secrets hidden.
func (c Config) Redacted() []any {
	var attrs []any
	for _, s := range c.settings() {
		var v any
		switch {
		case s.num != nil:
			v = *s.num
		case s.dur != nil:
			v = time.Duration(*s.dur).String()
		case s.bl != nil:
			v = *s.bl
		case s.secret && *s.str != "":
			v = "[redacted]"
		default:
			v = *s.str
		}
		attrs = append(attrs, slog.Any(s.key, v))
	}
	return attrs
}

// usage prints the flags of latch serve.
func usage(w io.Writer) {
	c := defaults()
	fmt.Fprintln(w, "usage: latch [serve] [flags]")
	fmt.Fprintln(w, "       latch rules test FILE --user EMAIL --app CLIENT_ID   (dry run against a running latch)")
	fmt.Fprintln(w, "  --config PATH   JSON config file (env LATCH_CONFIG)")
	for _, s := range c.settings() {
		fmt.Fprintf(w, "  --%-24s %s (env %s)\n", strings.ReplaceAll(s.key, "_", "-"), s.usage, s.env)
	}
}

// boolFlag is the flag of a true-or-false setting: "--tls-self-signed" alone means true,
// "--tls-self-signed=false" is also accepted. It keeps the text; assign parses it.
type boolFlag string

func (b *boolFlag) String() string     { return string(*b) }
func (b *boolFlag) Set(v string) error { *b = boolFlag(v); return nil }
func (b *boolFlag) IsBoolFlag() bool   { return true }

// AllowedHosts splits rules_allowed_hosts.
func (c Config) AllowedHosts() []string {
	var out []string
	for _, h := range strings.Split(c.RulesAllowedHosts, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// allowlist parses attack_protection_allowlist: IPs (as /32 or /128) and CIDRs.
// clientRateLimits reads mgmt_client_rate_limits: "client_id=rps:burst,...".
func (c Config) clientRateLimits() (map[string]mgmtapi.RateLimit, error) {
	out := map[string]mgmtapi.RateLimit{}
	for _, f := range strings.Split(c.MgmtClientRateLimits, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, spec, ok1 := strings.Cut(f, "=")
		rps, burst, ok2 := strings.Cut(spec, ":")
		r, err1 := strconv.Atoi(rps)
		b, err2 := strconv.Atoi(burst)
		if !ok1 || !ok2 || id == "" || err1 != nil || err2 != nil || r < 1 || b < 1 {
			return nil, fmt.Errorf("mgmt_client_rate_limits: %q: want client_id=requests_per_second:burst", f)
		}
		out[id] = mgmtapi.RateLimit{PerSecond: float64(r), Burst: b}
	}
	return out, nil
}

func (c Config) allowlist() ([]netip.Prefix, error) {
	return parsePrefixes("attack_protection_allowlist", c.AttackProtectionAllowlist)
}

func (c Config) trustedProxies() ([]netip.Prefix, error) {
	return parsePrefixes("trusted_proxies", c.TrustedProxies)
}

// parsePrefixes reads a comma-separated list of IPs and CIDRs.
func parsePrefixes(key, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := flow.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is neither an IP nor a CIDR", key, f)
		}
		out = append(out, p)
	}
	return out, nil
}

// sampleRatio reads otel_sample_ratio.
func (c *Config) sampleRatio() (float64, error) {
	r, err := strconv.ParseFloat(c.OTelSampleRatio, 64)
	if err != nil || r <= 0 || r > 1 {
		return 0, fmt.Errorf("otel_sample_ratio %q: want a number in (0, 1]", c.OTelSampleRatio)
	}
	return r, nil
}
