package main

// The scale runs: password login and GET /api/v2/users-by-email with a thousand users and
// with a million, on SQLite and on MongoDB (-only scale); password login on MongoDB + Redis,
// one instance and two behind an alternating client (-only mongo-login, -only scale-out).
// None of them is part of the default run: filling a store with a million users takes
// minutes.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// scaleOptions are the flags of the scale runs.
type scaleOptions struct {
	users      *int
	mongoUsers *int
	stores     *string
	mongoURI   *string
	ferretdb   *string
	pgGIN      *bool
	childURL   *string
	rounds     *int
}

func scaleFlags() scaleOptions {
	return scaleOptions{
		users:      flag.Int("users", 1_000_000, "-only scale: users in the store for the large measurement"),
		mongoUsers: flag.Int("mongo-users", 0, "-only scale: users on MongoDB (0: as -users, but 5 000 where every lookup by email scans the collection: FerretDB's SQLite handler, or its PostgreSQL handler with -pg-gin=false; give those runs a -duration and -rps-duration of a minute)"),
		stores:     flag.String("stores", "sqlite,mongo", "-only scale: the stores to measure, comma-separated"),
		mongoURI:   flag.String("mongo-uri", os.Getenv("LATCH_BENCH_MONGO_URI"), "MongoDB to measure (env LATCH_BENCH_MONGO_URI; a database of its own is created and dropped); empty: an embedded FerretDB in a child process"),
		ferretdb:   flag.String("ferretdb", "sqlite", "handler of the embedded FerretDB: sqlite, or postgresql (Debian's postgresql, started in a temporary directory)"),
		pgGIN:      flag.Bool("pg-gin", true, "with -ferretdb postgresql: add GIN indexes that FerretDB's equality filters can use (see postgres.go)"),
		childURL:   flag.String("ferretdb-url", "", "internal: the backend URL of the FerretDB child process"),
		rounds:     flag.Int("rounds", 3, "-only scale: rounds that measure the two sizes in turn (each run lasts -duration or -rps-duration divided by the rounds)"),
	}
}

// loginConcurrency is the load of every login run, as in the default run.
func loginConcurrency() int { return 2 * runtime.NumCPU() }

// runScale measures, for each store, login and users-by-email at 1 000 users and at the
// large size (scaleStore).
func runScale(latchBin string, o scaleOptions, dur, rpsDur time.Duration) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 10)
	if err != nil {
		return err
	}
	fmt.Printf("# latch scale benchmark — %s, %d cores, login concurrency %d, load average %s\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), loginConcurrency(), loadAverage())
	for _, store := range strings.Split(*o.stores, ",") {
		var err error
		switch store = strings.TrimSpace(store); store {
		case "sqlite":
			err = scaleStore(latchBin, "SQLite", nil, *o.users, string(hash), dur, rpsDur, *o.rounds)
		case "mongo":
			err = scaleMongo(latchBin, o, string(hash), dur, rpsDur)
		default:
			err = fmt.Errorf("-stores: unknown store %q (want sqlite, mongo)", store)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", store, err)
		}
	}
	return nil
}

func scaleMongo(latchBin string, o scaleOptions, hash string, dur, rpsDur time.Duration) error {
	shared, err := startShared(o)
	if err != nil {
		return err
	}
	defer shared.stop()
	n := *o.mongoUsers
	if n == 0 {
		n = *o.users
		if shared.mongo.scans {
			n = min(n, 5_000)
		}
	}
	return scaleStore(latchBin, shared.mongo.label+" + Redis", shared, n, hash, dur, rpsDur, *o.rounds)
}

// scaleTarget is one latch of a scale run, with its users.
type scaleTarget struct {
	l                      *latch
	c                      *client
	mgmt, appID, appSecret string
	users                  int
	procs                  []proc
	// the run's results, added up over the rounds: login at full load, login from one
	// client, users-by-email
	login, one, email watched
}

// startTarget starts a latch on the store of shared (SQLite when nil), in database db.
func startTarget(latchBin string, shared *sharedState, db string) (*scaleTarget, error) {
	env := benchEnv()
	if shared != nil {
		env = append(env, shared.envDB(db)...)
	}
	l, err := startLatch(latchBin, env...)
	if err != nil {
		return nil, err
	}
	t := &scaleTarget{l: l, c: newClient(loginConcurrency() * 4)}
	pid := l.cmd.Process.Pid
	t.procs = []proc{{"latch", func() time.Duration { return cpuTime(pid) }}}
	if shared != nil {
		t.procs = append(t.procs, shared.procs()...)
	}
	if t.mgmt, t.appID, t.appSecret, err = setUp(l, t.c); err != nil {
		l.stop()
		return nil, err
	}
	return t, nil
}

// fill imports users until the target has n.
func (t *scaleTarget) fill(n int, hash string) (time.Duration, error) {
	took, err := importRange(t.l, t.c, t.mgmt, t.users, n, hash)
	if err == nil {
		t.users = n
	}
	return took, err
}

// measure runs one round: login at full load for dur, then login from one client (where
// the store's part of a login is not hidden behind bcrypt's queue) and users-by-email for
// rpsDur each.
func (t *scaleTarget) measure(dur, rpsDur time.Duration) {
	pick := func() int { return mrand.IntN(t.users) }
	op := loginOp(t.c, t.l.url, t.appID, t.appSecret, pick)
	t.login.add(watch(loginConcurrency(), dur, op, t.procs))
	t.one.add(watch(1, rpsDur, op, t.procs))
	t.email.add(watch(4, rpsDur, func() error { return usersByEmail(t.c, t.l.url, t.mgmt, pick()) }, t.procs))
}

// scaleStore starts two latch instances on the store, fills one to 1 000 users and the
// other to n, and measures them in turn, round after round: a neighbour's load on this
// shared machine then weighs on both sizes alike, where measuring one size after the other
// would put the whole of a burst on one of them.
func scaleStore(latchBin, label string, shared *sharedState, n int, hash string, dur, rpsDur time.Duration, rounds int) error {
	fmt.Printf("## %s\n\n", label)
	small := min(1000, n)
	var targets []*scaleTarget
	defer func() {
		for _, t := range targets {
			t.l.stop()
		}
	}()
	for i, size := range []int{small, n} {
		db := ""
		if shared != nil {
			db = fmt.Sprintf("%s_%d", shared.db, i)
		}
		t, err := startTarget(latchBin, shared, db)
		if err != nil {
			return err
		}
		targets = append(targets, t)
		took, err := t.fill(size, hash)
		if err != nil {
			return err
		}
		fmt.Printf("filled to %d users in %v (%.0f users/s, user import jobs with one bcrypt hash reused)\n",
			size, took.Round(time.Millisecond), float64(size)/took.Seconds())
		if shared != nil {
			if err := shared.mongo.afterFill(db); err != nil {
				return err
			}
		}
	}
	var all []proc
	for _, t := range targets {
		all = append(all, t.procs...)
	}
	settle(all)
	before := bcryptCeiling(runtime.NumCPU(), 4*time.Second)
	for range rounds {
		for _, t := range targets {
			t.measure(dur/time.Duration(rounds), rpsDur/time.Duration(rounds))
		}
	}
	ceiling := (before + bcryptCeiling(runtime.NumCPU(), 4*time.Second)) / 2
	fmt.Printf("\n%d rounds; bcrypt ceiling %.1f/s on all cores, measured before and after them\n\n", rounds, ceiling)
	fmt.Printf("| users | measure | calls/s | p50 | p99 | errors | CPU per call | load average (1 min) |\n|---|---|---|---|---|---|---|---|\n")
	for _, t := range targets {
		t.login.row(t.users, fmt.Sprintf("password login, concurrency %d (%.1f %% of the bcrypt ceiling)", loginConcurrency(), 100*t.login.rate()/ceiling))
		t.one.row(t.users, "password login, one client")
		t.email.row(t.users, "GET /api/v2/users-by-email, 4 clients")
	}
	for _, t := range targets {
		if t.login.firstErr != nil || t.one.firstErr != nil || t.email.firstErr != nil {
			fmt.Printf("\nfirst errors at %d users: %v; %v; %v\n", t.users, t.login.firstErr, t.one.firstErr, t.email.firstErr)
		}
	}
	s, b := targets[0], targets[1]
	if len(b.login.latencies) == 0 || len(s.login.latencies) == 0 || len(b.one.latencies) == 0 || len(b.email.latencies) == 0 {
		fmt.Printf("\n%s: not measured: a run had no call that completed within its window (lengthen -duration and -rps-duration)\n\n", label)
		return nil
	}
	fmt.Printf("\n%s: login p50 at %d users / at %d users = %.2f (goal ≤ 1.2; p99 %.2f; from one client: p50 %.2f); users-by-email p50 at %d users %v, p99 %v (goal ≤ 10 ms; at %d users %v)\n\n",
		label, n, small, ratio(b.login.p(50), s.login.p(50)), ratio(b.login.p(99), s.login.p(99)), ratio(b.one.p(50), s.one.p(50)),
		n, b.email.p(50), b.email.p(99), small, s.email.p(50))
	return nil
}

// settle waits until procs are idle (under 5 % of a core over 2 s), at most 5 minutes: after
// a bulk import a store still works for a while (SQLite checkpoints its write-ahead log,
// PostgreSQL vacuums and analyzes), and that work would land on whichever size is measured
// first.
func settle(procs []proc) {
	total := func() (d time.Duration) {
		for _, p := range procs {
			d += p.cpu()
		}
		return d
	}
	start := time.Now()
	for time.Since(start) < 5*time.Minute {
		c0 := total()
		time.Sleep(2 * time.Second)
		if busy := total() - c0; busy < 100*time.Millisecond {
			fmt.Printf("the servers were idle %v after the fill\n", time.Since(start).Round(time.Second))
			return
		}
	}
	fmt.Printf("the servers were still busy 5 minutes after the fill: measuring anyway\n")
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(max(b, 1)) }

// benchEnv lifts the limits that would throttle a benchmark, not a deployment: the
// Management API's rate limit (users-by-email is called thousands of times a second) and
// the import file's size.
func benchEnv() []string {
	return []string{"LATCH_MGMT_RATE_LIMIT=1000000", "LATCH_MGMT_RATE_BURST=1000000", "LATCH_IMPORT_MAX_MIB=256"}
}

// setUp takes a Management token and creates an application that may use the
// password-realm grant.
func setUp(l *latch, c *client) (mgmt, appID, appSecret string, err error) {
	mgmt, err = c.token(l.url, url.Values{"grant_type": {"client_credentials"}, "client_id": {bootID}, "client_secret": {bootSecret}, "audience": {l.url + "/api/v2/"}})
	if err != nil {
		return "", "", "", err
	}
	appID, appSecret, err = c.createApp(l.url, mgmt)
	return mgmt, appID, appSecret, err
}

func scaleEmail(i int) string { return fmt.Sprintf("scale%d@example.com", i) }

func loginOp(c *client, base, appID, appSecret string, pick func() int) func() error {
	return func() error {
		_, err := c.token(base, url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {appID}, "client_secret": {appSecret}, "username": {scaleEmail(pick())},
			"password": {password}, "scope": {"openid profile email"},
		})
		return err
	}
}

// usersByEmail looks user i up and checks that the answer is that one user: a lookup that
// found nothing, or the wrong user, counts as an error, not as a fast call.
func usersByEmail(c *client, base, mgmt string, i int) error {
	email := scaleEmail(i)
	var users []struct {
		Email string `json:"email"`
	}
	if err := c.getJSON(base+"/api/v2/users-by-email?email="+url.QueryEscape(email), mgmt, &users); err != nil {
		return err
	}
	if len(users) != 1 || users[0].Email != email {
		return fmt.Errorf("users-by-email %s: got %v", email, users)
	}
	return nil
}

// importBatch is the number of users per import job: about 40 MB of JSON.
const importBatch = 200_000

// importRange imports the users scaleEmail(from) to scaleEmail(to-1), all with hash, through
// import jobs of importBatch users, one after the other, and returns the time they took.
func importRange(l *latch, c *client, mgmt string, from, to int, hash string) (time.Duration, error) {
	var conns []struct{ ID, Name string }
	if err := c.getJSON(l.url+"/api/v2/connections", mgmt, &conns); err != nil {
		return 0, err
	}
	i := slices.IndexFunc(conns, func(c struct{ ID, Name string }) bool { return c.Name == "Username-Password-Authentication" })
	if i < 0 {
		return 0, fmt.Errorf("no Username-Password-Authentication connection")
	}
	start := time.Now()
	for lo := from; lo < to; lo += importBatch {
		hi := min(lo+importBatch, to)
		var b strings.Builder
		b.WriteByte('[')
		for j := lo; j < hi; j++ {
			if j > lo {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"email":%q,"email_verified":true,"password_hash":%q,"user_metadata":{"plan":"gold","n":%d}}`, scaleEmail(j), hash, j)
		}
		b.WriteByte(']')
		job, err := c.importJob(l.url, mgmt, conns[i].ID, []byte(b.String()))
		if err != nil {
			return 0, err
		}
		done, err := c.waitJob(l.url, mgmt, job)
		if err != nil {
			return 0, err
		}
		if fmt.Sprint(done.Summary["inserted"]) != fmt.Sprint(hi-lo) {
			return 0, fmt.Errorf("import of users %d to %d: summary %v", lo, hi-1, done.Summary)
		}
		if hi < to {
			fmt.Printf("  … %d users (%v)\n", hi, time.Since(start).Round(time.Second))
		}
	}
	return time.Since(start), nil
}

// proc is a process (or a tree of them) whose CPU time a run reads.
type proc struct {
	name string
	cpu  func() time.Duration
}

// watched is a load result with the CPU time of each watched process in its window and the
// load average at its end.
type watched struct {
	result
	cpu   map[string]time.Duration
	loads []float64 // the 1-minute load average at the end of each run added up
}

// add adds the calls and the CPU time of o to w.
func (w *watched) add(o watched) {
	if w.cpu == nil {
		w.cpu = map[string]time.Duration{}
	}
	w.ok += o.ok
	w.errors += o.errors
	w.elapsed += o.elapsed
	w.latencies = append(w.latencies, o.latencies...)
	slices.Sort(w.latencies)
	w.serverCPU += o.serverCPU
	w.clientCPU += o.clientCPU
	if w.firstErr == nil {
		w.firstErr = o.firstErr
	}
	for name, d := range o.cpu {
		w.cpu[name] += d
	}
	w.loads = append(w.loads, o.loads...)
}

// load is the range of the load averages seen.
func (w watched) load() string {
	if len(w.loads) == 0 {
		return "?"
	}
	lo, hi := slices.Min(w.loads), slices.Max(w.loads)
	if lo == hi {
		return fmt.Sprintf("%.2f", lo)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

// watch runs load and reads the CPU time of procs at the start and the end of its measuring
// window (load waits one second of warm-up, then measures for d).
func watch(conc int, d time.Duration, op func() error, procs []proc) watched {
	start := time.Now().Add(time.Second)
	w := watched{cpu: map[string]time.Duration{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(time.Until(start))
		first := make([]time.Duration, len(procs))
		for i, p := range procs {
			first[i] = p.cpu()
		}
		time.Sleep(time.Until(start.Add(d)))
		for i, p := range procs {
			w.cpu[p.name] += p.cpu() - first[i]
		}
	})
	w.result = load(conc, d, op)
	wg.Wait()
	if l, err := strconv.ParseFloat(strings.Fields(loadAverage() + " ?")[0], 64); err == nil {
		w.loads = []float64{l}
	}
	return w
}

// perCall is the CPU time the process named name spent per completed call.
func (w watched) perCall(name string) time.Duration {
	if w.ok == 0 {
		return 0
	}
	return w.cpu[name] / time.Duration(w.ok)
}

// cpuSummary is "latch 63.1 ms, FerretDB 2.0 ms, ..." per call.
func (w watched) cpuSummary() string {
	names := make([]string, 0, len(w.cpu))
	for name := range w.cpu {
		names = append(names, name)
	}
	slices.Sort(names)
	if i := slices.Index(names, "latch"); i > 0 { // latch first
		names = append([]string{"latch"}, slices.Delete(names, i, i+1)...)
	}
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %v", name, w.perCall(name).Round(10*time.Microsecond))
	}
	return strings.Join(parts, ", ")
}

func (w watched) row(users int, name string) {
	fmt.Printf("| %d | %s | %.1f | %v | %v | %d | %s | %s |\n", users, name, w.rate(), w.p(50), w.p(99), w.errors, w.cpuSummary(), w.load())
}

// loadAverage is the 1-, 5- and 15-minute load average: the machine is shared, and a
// figure is only as good as the quiet it was measured in.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// runScaleOut measures password login on SQLite (one instance), on MongoDB + Redis with
// one instance and, when both is set, with two instances that the client alternates
// between; it compares latch's CPU per login across them. The setups all run from the
// start and are measured in turn, round after round, so that a neighbour's load on this
// shared machine weighs on each alike.
func runScaleOut(latchBin string, o scaleOptions, dur time.Duration, both bool) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 10)
	if err != nil {
		return err
	}
	const users = 1000
	conc := loginConcurrency()
	fmt.Printf("# latch on MongoDB + Redis — %s, %d cores, login concurrency %d, %d users, %d rounds, load average %s\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), conc, users, *o.rounds, loadAverage())

	var setups []*loginSetup
	var instances []*latch
	defer func() {
		for _, l := range instances {
			l.stop()
		}
	}()
	// SQLite, one instance: the reference CPU per login.
	l, err := startLatch(latchBin, benchEnv()...)
	if err != nil {
		return err
	}
	instances = append(instances, l)
	app, err := prepareLogins(l, users, string(hash), conc)
	if err != nil {
		return err
	}
	setups = append(setups, newLoginSetup("SQLite, one instance", app, []*latch{l}, nil, users))

	shared, err := startShared(o)
	if err != nil {
		return err
	}
	defer shared.stop()
	a, err := startLatch(latchBin, append(benchEnv(), shared.env()...)...)
	if err != nil {
		return err
	}
	instances = append(instances, a)
	if app, err = prepareLogins(a, users, string(hash), conc); err != nil {
		return err
	}
	if err := shared.mongo.afterFill(shared.db); err != nil {
		return err
	}
	label := shared.mongo.label + " + Redis"
	setups = append(setups, newLoginSetup(label+", one instance", app, []*latch{a}, shared.procs(), users))
	if both {
		// Behind one load balancer both instances are one issuer.
		b, err := startLatch(latchBin, append(append(benchEnv(), shared.env()...), "LATCH_ISSUER="+a.url+"/")...)
		if err != nil {
			return err
		}
		instances = append(instances, b)
		setups = append(setups, newLoginSetup(label+", two instances, the client alternating between them", app, []*latch{a, b}, shared.procs(), users))
	}

	var ceilings []float64
	var bcryptCPU []time.Duration
	ceiling := func() {
		rate, cpu := ceilingCPU(3 * time.Second)
		ceilings = append(ceilings, rate)
		bcryptCPU = append(bcryptCPU, cpu)
	}
	ceiling()
	for range *o.rounds {
		for _, s := range setups {
			s.run.add(watch(conc, dur/time.Duration(*o.rounds), s.op, s.procs))
		}
		ceiling()
	}
	c, cpu := mean(ceilings), mean(bcryptCPU)
	fmt.Printf("bcrypt ceiling %.1f/s on all cores, %v of CPU per comparison, measured before and after each round (%.1f to %.1f/s)\n",
		c, cpu.Round(10*time.Microsecond), slices.Min(ceilings), slices.Max(ceilings))
	ref := setups[0].run.perCall("latch")
	for _, s := range setups {
		r := s.run
		fmt.Printf("\n%s: %d logins in %v = %.1f/s, %.1f %% of the bcrypt ceiling (goal ≥ 90 %%); p50 %v, p99 %v, errors %d; load average %s\n",
			s.name, r.ok, r.elapsed.Round(time.Millisecond), r.rate(), 100*r.rate()/c, r.p(50), r.p(99), r.errors, r.load())
		if r.firstErr != nil {
			fmt.Printf("  first error: %v\n", r.firstErr)
		}
		latchCPU := r.perCall("latch")
		fmt.Printf("  CPU per login: %s; the load client %v. latch beyond its bcrypt comparison: %v\n",
			r.cpuSummary(), (r.clientCPU / time.Duration(max(r.ok, 1))).Round(10*time.Microsecond), (latchCPU - cpu).Round(10*time.Microsecond))
		if s != setups[0] {
			fmt.Printf("  latch CPU per login against SQLite's: %+.1f %% (the shared state's cost; goal < 5 %%)\n", 100*(float64(latchCPU)/float64(ref)-1))
		}
	}
	return nil
}

// ceilingCPU is bcryptCeiling with the CPU time one comparison took: on a busy machine a
// comparison costs more CPU than on a quiet one (caches, hyper-threads), and latch's CPU
// per login is read against this figure of the same moment.
func ceilingCPU(d time.Duration) (float64, time.Duration) {
	cpu0, t0 := cpuTime(os.Getpid()), time.Now()
	rate := bcryptCeiling(runtime.NumCPU(), d)
	cpu, took := cpuTime(os.Getpid())-cpu0, time.Since(t0)
	return rate, time.Duration(float64(cpu) / (rate * took.Seconds()))
}

func mean[T float64 | time.Duration](xs []T) T {
	var sum T
	for _, x := range xs {
		sum += x
	}
	return sum / T(max(len(xs), 1))
}

// loginSetup is one way of serving logins: instances that the client takes in turn.
type loginSetup struct {
	name  string
	op    func() error
	procs []proc // every instance is "latch"
	run   watched
}

func newLoginSetup(name string, app loginApp, instances []*latch, others []proc, users int) *loginSetup {
	s := &loginSetup{name: name, procs: slices.Clone(others)}
	ops := make([]func() error, len(instances))
	for i, l := range instances {
		pid := l.cmd.Process.Pid
		s.procs = append(s.procs, proc{"latch", func() time.Duration { return cpuTime(pid) }})
		ops[i] = loginOp(app.c, l.url, app.appID, app.appSecret, func() int { return mrand.IntN(users) })
	}
	var turn sync.Mutex
	next := 0
	s.op = func() error {
		turn.Lock()
		op := ops[next%len(ops)]
		next++
		turn.Unlock()
		return op()
	}
	return s
}

// loginApp is what logins need: a client with its connections, and an application.
type loginApp struct {
	c                *client
	appID, appSecret string
}

// prepareLogins creates an application on l and imports users users.
func prepareLogins(l *latch, users int, hash string, conc int) (loginApp, error) {
	c := newClient(conc * 4)
	mgmt, appID, appSecret, err := setUp(l, c)
	if err != nil {
		return loginApp{}, err
	}
	if _, err := importRange(l, c, mgmt, 0, users, hash); err != nil {
		return loginApp{}, err
	}
	return loginApp{c, appID, appSecret}, nil
}

// sharedState is the MongoDB and the Redis that latch instances share.
type sharedState struct {
	mongo    *mongoServer
	redis    *redisServer
	db       string
	kek      string
	stopOnce sync.Once
}

func startShared(o scaleOptions) (*sharedState, error) {
	m, err := startMongo(o)
	if err != nil {
		return nil, err
	}
	r, err := startRedis()
	if err != nil {
		m.stop()
		return nil, err
	}
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	db := make([]byte, 6)
	_, _ = rand.Read(db)
	s := &sharedState{mongo: m, redis: r, db: "latchbench_" + hex.EncodeToString(db), kek: base64.StdEncoding.EncodeToString(kek)}
	return s, nil
}

// env is the configuration of a latch on the shared servers, in the database s.db.
func (s *sharedState) env() []string { return s.envDB(s.db) }

// envDB is env with the database db.
func (s *sharedState) envDB(db string) []string {
	uri, _ := url.Parse(s.mongo.uri)
	uri.Path = "/" + db
	s.mongo.used(db)
	return []string{"LATCH_STORE=mongo", "LATCH_MONGO_URI=" + uri.String(), "LATCH_REDIS_URL=" + s.redis.url(), "LATCH_SECRET_KEY=" + s.kek}
}

// procs are the shared servers whose CPU a run reports apart from latch's: in production
// they run on machines of their own.
func (s *sharedState) procs() []proc {
	return append(slices.Clone(s.mongo.procs), proc{"Redis", func() time.Duration { return cpuTime(s.redis.cmd.Process.Pid) }})
}

func (s *sharedState) stop() {
	s.stopOnce.Do(func() {
		s.mongo.stop()
		s.redis.stop()
	})
}

// importJob uploads file as a users-imports job into connection and returns the job's id.
func (c *client) importJob(base, mgmt, connection string, file []byte) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("connection_id", connection)
	fw, _ := w.CreateFormFile("users", "users.json")
	_, _ = fw.Write(file)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v2/jobs/users-imports", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+mgmt)
	var job struct{ ID string }
	if err := c.do(req, &job); err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	return job.ID, nil
}
