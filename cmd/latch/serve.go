package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/metrics"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/rules/sandbox"
	"github.com/latchauth/latch/server"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/server/mgmtapi"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/inproc"
	"github.com/latchauth/latch/storage/mongo"
	"github.com/latchauth/latch/storage/redis"
	"github.com/latchauth/latch/storage/sqlite"
	"github.com/latchauth/latch/tokens"
	"github.com/latchauth/latch/tracing"
	"github.com/latchauth/latch/web"
)

// shutdownGrace is how long in-flight requests get to finish after SIGTERM.
const shutdownGrace = 20 * time.Second

// serve runs latch until ctx ends. ln may be nil, in which case it listens on cfg.Addr.
// What a person starting latch needs to see (the URL, first-start credentials) goes to out;
// everything else goes to the log.
func serve(ctx context.Context, cfg Config, ln net.Listener, out io.Writer, log *slog.Logger) error {
	log.Info("starting latch", cfg.Redacted()...)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	kek, err := keyEncryptionKey(cfg, log)
	if err != nil {
		return err
	}
	m := metrics.New()
	if cfg.OTelEndpoint != "" {
		stopTracing, err := startTracing(ctx, cfg)
		if err != nil {
			return err
		}
		defer func() {
			if err := stopTracing(); err != nil {
				log.Warn("flushing the last traces", "error", err)
			}
		}()
	}
	store, err := openStore(ctx, cfg, m)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing the store", "error", err)
		}
	}()

	sealer, err := tokens.NewSealer(kek)
	if err != nil {
		return err
	}
	keys := tokens.NewKeySet(store, sealer)
	if created, err := keys.Ensure(ctx); err != nil {
		return fmt.Errorf("signing key: %w", err)
	} else if created {
		log.Info("created the first signing key")
	}
	issuer := tokens.NewIssuer(cfg.Issuer, keys)
	workers := cfg.RulesWorkers
	if workers == 0 {
		// Rules that call out over HTTP hold a worker while they wait, so twice the CPUs,
		// and never so few that two slow logins stall everybody else's.
		workers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	pool, err := sandbox.NewPool(sandbox.PoolOptions{
		Workers: workers, MaxWorkerRSS: int64(cfg.RulesWorkerMemory) << 20, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("rule workers: %w", err)
	}
	defer func() {
		if err := pool.Close(); err != nil {
			log.Error("stopping the rule workers", "error", err)
		}
	}()
	allowlist, _ := cfg.allowlist()           // checked with the rest of the configuration
	clientLimits, _ := cfg.clientRateLimits() // likewise
	proxies, _ := cfg.trustedProxies()        // likewise
	hashGate := password.NewGate(hashConcurrency(cfg), time.Duration(cfg.HashWait))
	m.WatchHashGate(hashGate)
	shortLived, changes, shared, err := openShortLived(ctx, cfg, m)
	if err != nil {
		return err
	}
	if shared != nil {
		defer shared.Close()
	}
	var svc *flow.Service // the mail queue reports to it (set below, before any mail is sent)
	mailTemplates, mailQueue, err := newMail(cfg, m, log, func(msg mail.Message, err error) { svc.RecordMailResult(msg, err) })
	if err != nil {
		return err
	}
	svc = flow.New(flow.Deps{
		Store: store, ShortLived: shortLived, Hasher: &password.Hasher{Cost: cfg.BcryptCost}, Issuer: issuer, IssuerURL: cfg.Issuer,
		Sealer: sealer, Rules: pool, RuleLimits: ruleLimits(cfg), Metrics: m, Log: log,
		Failures:  shortLived,
		HashGate:  hashGate,
		Allowlist: allowlist,
		Browser: flow.BrowserSettings{
			SessionIdle: time.Duration(cfg.SessionIdle), SessionLifetime: time.Duration(cfg.SessionLifetime),
		},
		EventRetention: time.Duration(cfg.LogRetention),
		Jobs:           store, Imports: store, Settings: store,
		JobSettings: flow.JobSettings{MaxImportBytes: int64(cfg.ImportMaxMiB) << 20},
		Mail:        mailQueue, MailTemplates: mailTemplates, Tickets: ticketStore(store, log), Email: emailSettings(cfg),
		Console: consoleSettings(cfg),
	})
	defer func() { // after the server's shutdown, before the store closes
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Close(cctx); err != nil {
			log.Error("writing the last auth events", "error", err)
		}
	}()
	defer closeMail(svc, mailQueue, log) // before the events close: failed mail is an event
	if changes != nil {
		svc.SetChanges(changes)
		// Another instance's write of something this one caches: drop it (keys: reload).
		err := changes.Subscribe(ctx, func(topic string) {
			if topic == storage.TopicKeys {
				if err := keys.Load(ctx); err != nil && ctx.Err() == nil {
					log.Warn("reloading signing keys after a change notice", "error", err)
				}
			}
			svc.DropCaches(topic)
		})
		if err != nil {
			return fmt.Errorf("change notices: %w", err)
		}
	}
	pages, err := web.New(webOptions(cfg))
	if err != nil {
		return fmt.Errorf("hosted pages: %w", err)
	}
	boot, err := svc.Bootstrap(ctx, cfg.BootstrapClientID, cfg.BootstrapClientSecret)
	if err != nil {
		return err
	}
	var admin bootstrapAdmin
	if boot.ClientCreated && cfg.BootstrapAdminEmail != "" && cfg.BootstrapAdminEmail != "-" {
		// First start: an admin for the console, like the Management API client above.
		admin.email = cfg.BootstrapAdminEmail
		if admin.password, err = svc.BootstrapAdmin(ctx, cfg.BootstrapAdminEmail, cfg.BootstrapAdminPassword); err != nil {
			return err
		}
	}

	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	if ln, err = listenTLS(cfg, ln, log); err != nil { // HTTPS when configured (tls.go)
		return err
	}
	srv := &http.Server{
		Handler: server.New(server.Deps{
			Store: store, Flow: svc, Issuer: issuer, Keys: keys, IssuerURL: cfg.Issuer, Metrics: m, Log: log,
			Pages: pages, Secure: cfg.TLSEnabled() || strings.HasPrefix(cfg.Issuer, "https://"),
			Shared: sharedPinger(shared), TrustedProxies: proxies,
			MgmtLimits: &mgmtapi.RateLimiting{
				Store:     shortLived,
				Default:   mgmtapi.RateLimit{PerSecond: float64(cfg.MgmtRateLimit), Burst: cfg.MgmtRateBurst},
				PerClient: clientLimits,
			},
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	printWelcome(out, cfg, ln.Addr().String(), boot, admin)

	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, m, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	go collectExpired(ctx, store, svc, log)
	go svc.RunJobs(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; letting in-flight requests finish")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// keyEncryptionKey returns the key that seals signing keys at rest: from configuration, or
// from a file in the data dir that is generated (mode 0600) on first start.
func keyEncryptionKey(cfg Config, log *slog.Logger) ([]byte, error) {
	if cfg.SecretKey != "" {
		return tokens.ParseKEK(cfg.SecretKey)
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		key := tokens.GenerateKEK()
		if _, err := f.WriteString(key + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		log.Warn("generated a key-encryption key; back it up, signing keys cannot be read without it", "path", path)
		return tokens.ParseKEK(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return tokens.ParseKEK(string(trimNewline(data)))
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func printWelcome(out io.Writer, cfg Config, addr string, boot flow.BootstrapResult, admin bootstrapAdmin) {
	fmt.Fprintf(out, "latch is listening on %s://%s (issuer %s)\n", cfg.scheme(), addr, cfg.Issuer)
	switch {
	case boot.GeneratedSecret != "":
		fmt.Fprintf(out, "Management API client created (the secret is shown only this once; store it now):\n")
		fmt.Fprintf(out, "  client_id:     %s\n  client_secret: %s\n", boot.ClientID, boot.GeneratedSecret)
	case boot.ClientCreated:
		fmt.Fprintf(out, "Management API client created: client_id %s (secret from LATCH_BOOTSTRAP_CLIENT_SECRET)\n", boot.ClientID)
	default:
		fmt.Fprintf(out, "Management API client: client_id %s (its secret was shown at first start)\n", boot.ClientID)
	}
	fmt.Fprintf(out, "  audience:      %sapi/v2/\n", cfg.Issuer)
	fmt.Fprintf(out, "Admin console: %sadmin/\n", cfg.Issuer)
	switch {
	case admin.password != "":
		fmt.Fprintf(out, "  sign in as %s with password %s (shown only this once; change it in the console or with a reset link)\n", admin.email, admin.password)
	case admin.email != "":
		fmt.Fprintf(out, "  sign in as %s (password from LATCH_BOOTSTRAP_ADMIN_PASSWORD)\n", admin.email)
	}
}

// bootstrapAdmin is the console admin created at first start, for the welcome message.
type bootstrapAdmin struct{ email, password string }

// consoleSettings says who may use the admin console.
func consoleSettings(cfg Config) flow.ConsoleSettings {
	var admins []string
	for _, a := range strings.Split(cfg.Admins, ",") {
		if a = strings.TrimSpace(a); a != "" {
			admins = append(admins, a)
		}
	}
	return flow.ConsoleSettings{
		Admins: admins, AdminRole: cfg.AdminRole, ViewerRole: cfg.ViewerRole,
		SessionTimeout: time.Duration(cfg.ConsoleSessionTimeout),
	}
}

// durableStore is what latch keeps durably: the storage.Store of every backend, with jobs
// and batched imports.
type durableStore interface {
	storage.Store
	storage.Jobs
	storage.UserImports
	storage.Settings
}

// openStore opens the durable store the configuration names.
func openStore(ctx context.Context, cfg Config, m *metrics.Metrics) (durableStore, error) {
	if cfg.Store == "mongo" {
		return mongo.Open(ctx, cfg.MongoURI, mongo.Options{Observer: m.MongoCalls()})
	}
	return sqlite.Open(filepath.Join(cfg.DataDir, "latch.db"))
}

// openShortLived opens the shared short-lived state: Redis when redis_url is set (then it
// also carries change notices between instances), otherwise in process (one instance).
func openShortLived(ctx context.Context, cfg Config, m *metrics.Metrics) (storage.ShortLived, storage.Changes, *redis.State, error) {
	if cfg.RedisURL == "" {
		return inproc.New(nil), nil, nil, nil
	}
	rs, err := redis.New(ctx, cfg.RedisURL, redis.WithObserver(m.RedisCalls()))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("redis: %w", err)
	}
	return rs, rs, rs, nil
}

// sharedPinger is the remote shared state for /readyz (nil when it is in process; a nil
// *redis.State must not become a non-nil interface).
func sharedPinger(rs *redis.State) server.Pinger {
	if rs == nil {
		return nil
	}
	return rs
}

// expiring is the store as collectExpired sweeps it.
type expiring interface {
	DeleteExpiredGrants(context.Context, time.Time) (int, error)
	DeleteExpiredRefreshTokens(context.Context, time.Time) (int, error)
	DeleteExpiredJobs(context.Context, time.Time) (int, error)
}

// collectExpired deletes, hourly, grants whose access tokens have expired, refresh tokens
// past their lifetimes, finished jobs and auth events past their retention.
func collectExpired(ctx context.Context, store expiring, svc *flow.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, sweep := range []struct {
				what string
				run  func(context.Context, time.Time) (int, error)
			}{
				{"grants", store.DeleteExpiredGrants},
				{"refresh tokens", store.DeleteExpiredRefreshTokens},
				{"jobs", store.DeleteExpiredJobs},
				{"tickets", func(ctx context.Context, _ time.Time) (int, error) { return svc.PruneTickets(ctx) }},
				{"auth events", func(ctx context.Context, _ time.Time) (int, error) { return svc.PruneEvents(ctx) }},
			} {
				n, err := sweep.run(ctx, storage.Now())
				if err != nil && ctx.Err() == nil {
					log.Warn("deleting expired "+sweep.what, "error", err)
				} else if n > 0 {
					log.Info("deleted expired "+sweep.what, "count", n)
				}
			}
		}
	}
}

// startTracing sends traces to the configured OpenTelemetry collector. The returned
// function flushes what is queued, waiting at most 5 s.
func startTracing(ctx context.Context, cfg Config) (stop func() error, err error) {
	ratio, _ := cfg.sampleRatio() // checked with the rest of the configuration
	host, _ := os.Hostname()
	shutdown, err := tracing.Setup(ctx, tracing.Options{
		Endpoint: cfg.OTelEndpoint, SampleRatio: ratio,
		ServiceName: "latch", Instance: fmt.Sprintf("%s:%d", host, os.Getpid()),
	})
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return shutdown(sctx)
	}, nil
}

// serveMetrics serves /metrics on its own address, so that it can stay off the public one.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// ruleLimits turns the configuration into the limits every pipeline runs under.
func ruleLimits(cfg Config) rules.Limits {
	l := rules.DefaultLimits()
	l.Pipeline = time.Duration(cfg.RulesTimeout)
	l.PerScript = time.Duration(cfg.RulesScriptTimeout)
	l.AllowedHosts = cfg.AllowedHosts()
	l.AllowPrivateNetworks = cfg.RulesPrivateNetworks == "true"
	return l
}

// hashConcurrency is how many bcrypt computations may run at once: by default twice the
// CPUs, enough to keep every core busy while requests come and go.
func hashConcurrency(cfg Config) int {
	if cfg.HashConcurrency > 0 {
		return cfg.HashConcurrency
	}
	return 2 * runtime.GOMAXPROCS(0)
}

// webOptions are the hosted pages' settings from the configuration.
func webOptions(cfg Config) web.Options {
	return web.Options{
		Brand: web.Brand{
			Name: cfg.BrandName, LogoURL: cfg.BrandLogoURL, PrimaryColor: cfg.BrandPrimaryColor,
			BackgroundColor: cfg.BrandBackgroundColor, CustomCSSFile: cfg.BrandCustomCSS,
		},
		TemplatesDir: cfg.PagesTemplatesDir,
	}
}
