// Command latchbench measures latch on this machine: the bcrypt ceiling, then signup,
// password login, the browser code flow, silent auth, refresh and /userinfo throughput of a real latch process over loopback, its
// start-up time and memory. Throughput is reported as a ratio to a ceiling measured in the
// same run, because the machines it runs on are shared and noisy.
//
//	go build -o bin/latch ./cmd/latch && go run ./cmd/latchbench -latch bin/latch
//
// The scale runs are left out of that default run, as they take minutes: -only scale
// (login and users-by-email at 1 000 users and at a million, on SQLite and on MongoDB),
// -only scale-out and -only mongo-login (MongoDB + Redis, one and two instances); see
// scale.go and docs/BENCHMARKS.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	latchBin := flag.String("latch", "bin/latch", "path to the latch binary")
	dur := flag.Duration("duration", 15*time.Second, "length of each signup and login run")
	rpsDur := flag.Duration("rps-duration", 8*time.Second, "length of each /userinfo and baseline run")
	only := flag.String("only", "", `run one part alone: "jobs" (user import and export); or a part the default run leaves out, as it is long: "scale" (login and users-by-email at 1 000 and -users users, per store), "scale-out" (two instances on MongoDB + Redis), "mongo-login" (one instance on MongoDB + Redis)`)
	so := scaleFlags()
	flag.Parse()
	var err error
	switch *only {
	case "":
		err = run(*latchBin, *dur, *rpsDur)
	case "jobs":
		err = runJobs(*latchBin)
	case "scale":
		err = runScale(*latchBin, so, *dur, *rpsDur)
	case "scale-out", "mongo-login":
		err = runScaleOut(*latchBin, so, *dur, *only == "scale-out")
	case ferretChild:
		err = serveFerretDB(so)
	default:
		err = fmt.Errorf("-only %q: want jobs, scale, scale-out or mongo-login", *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchbench:", err)
		os.Exit(1)
	}
}

const (
	bootID     = "bench-bootstrap"
	bootSecret = "bench-bootstrap-secret-0123456789abcdef"
	password   = "Bench-Pass-2026x"
)

func run(latchBin string, dur, rpsDur time.Duration) error {
	conc := 2 * runtime.NumCPU()
	fmt.Printf("# latch benchmark — %s, %d cores, concurrency %d\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), conc)

	fmt.Printf("bcrypt cost 10 ceiling alone: %.1f compares/s on all cores\n", bcryptCeiling(runtime.NumCPU(), 3*time.Second))

	l, err := startLatch(latchBin)
	if err != nil {
		return err
	}
	defer l.stop()
	fmt.Printf("start to /readyz 200: %v\n", l.readyAfter.Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	fmt.Printf("RSS idle: %.1f MiB\n", l.rssMiB())

	c := newClient(conc * 4)
	mgmt, err := c.token(l.url, url.Values{"grant_type": {"client_credentials"}, "client_id": {bootID}, "client_secret": {bootSecret}, "audience": {l.url + "/api/v2/"}})
	if err != nil {
		return err
	}
	appID, appSecret, err := c.createApp(l.url, mgmt)
	if err != nil {
		return err
	}

	var seq atomic.Int64
	signup, ceiling := bracketed(conc, dur, func() error {
		n := seq.Add(1)
		return c.postJSON(l.url+"/dbconnections/signup", map[string]any{
			"client_id": appID, "connection": "Username-Password-Authentication",
			"email": fmt.Sprintf("bench%d@example.com", n), "password": password,
			"user_metadata": map[string]string{"plan": "silver"},
		}, nil)
	})
	report("signup", signup, ceiling, 0.95)

	users := seq.Load()
	var next atomic.Int64
	var lastAccess atomic.Value
	login, ceiling := bracketed(conc, dur, func() error {
		n := next.Add(1)%users + 1
		tok, err := c.token(l.url, url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {appID}, "client_secret": {appSecret}, "username": {fmt.Sprintf("bench%d@example.com", n)},
			"password": {password}, "scope": {"openid profile email"},
		})
		if err == nil {
			lastAccess.Store(tok)
		}
		return err
	})
	report("password login", login, ceiling, 0.97)
	fmt.Printf("RSS after the login run: %.1f MiB\n\n", l.rssMiB())

	if err := browserFlows(l, c, mgmt, conc, users, dur); err != nil {
		return err
	}
	fmt.Printf("RSS after the browser runs: %.1f MiB\n\n", l.rssMiB())

	// The same logins with five typical rules (benchRules), run in the sandboxed workers.
	if err := c.postJSONAuth(l.url+"/api/v2/rules-configs/DEFAULT_TIER", mgmt, http.MethodPut, map[string]any{"value": "gold"}); err != nil {
		return err
	}
	for i, script := range benchRules {
		if err := c.postJSONAuth(l.url+"/api/v2/rules", mgmt, http.MethodPost, map[string]any{"name": fmt.Sprintf("bench-rule-%d", i+1), "script": script}); err != nil {
			return err
		}
	}
	withRules, ceiling := bracketed(conc, dur, func() error {
		n := next.Add(1)%users + 1
		_, err := c.token(l.url, url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {appID}, "client_secret": {appSecret}, "username": {fmt.Sprintf("bench%d@example.com", n)},
			"password": {password}, "scope": {"openid profile email"},
		})
		return err
	})
	report("password login with 5 rules", withRules, ceiling, 0.97)
	fmt.Printf("RSS of latch after the rules run: %.1f MiB (rule workers are separate processes)\n\n", l.rssMiB())

	access, _ := lastAccess.Load().(string)
	if access == "" {
		return fmt.Errorf("no successful login to take an access token from")
	}
	rpsConc := 16
	base := load(rpsConc, rpsDur, func() error { return c.get(l.url+"/healthz", "") })
	ui := load(rpsConc, rpsDur, func() error { return c.get(l.url+"/userinfo", access) })
	fmt.Printf("| endpoint | req/s | p50 | p99 | errors |\n|---|---|---|---|---|\n")
	fmt.Printf("| GET /healthz (trivial JSON) | %.0f | %v | %v | %d |\n", base.rate(), base.p(50), base.p(99), base.errors)
	fmt.Printf("| GET /userinfo | %.0f | %v | %v | %d |\n", ui.rate(), ui.p(50), ui.p(99), ui.errors)
	fmt.Printf("\n/userinfo / trivial = %.1f %% (goal ≥ 50 %%)\n", 100*ui.rate()/base.rate())
	return importExport(l, c, mgmt)
}

// runJobs is the import and export part alone, on a fresh latch.
func runJobs(latchBin string) error {
	l, err := startLatch(latchBin)
	if err != nil {
		return err
	}
	defer l.stop()
	c := newClient(4)
	mgmt, err := c.token(l.url, url.Values{"grant_type": {"client_credentials"}, "client_id": {bootID}, "client_secret": {bootSecret}, "audience": {l.url + "/api/v2/"}})
	if err != nil {
		return err
	}
	return importExport(l, c, mgmt)
}

// bracketed runs op for d at full load and measures the bcrypt ceiling right before and
// right after it. This machine is shared: averaging both sides makes a neighbour's load
// weigh on the ceiling as it weighed on the run.
func bracketed(conc int, d time.Duration, op func() error) (result, float64) {
	before := bcryptCeiling(runtime.NumCPU(), 4*time.Second)
	r := load(conc, d, op)
	after := bcryptCeiling(runtime.NumCPU(), 4*time.Second)
	return r, (before + after) / 2
}

func report(name string, r result, ceiling, goal float64) {
	ratio := r.rate() / ceiling
	verdict := "meets"
	if ratio < goal {
		verdict = "BELOW"
	}
	fmt.Printf("\n%s: %d ok in %v = %.1f/s against a bcrypt ceiling of %.1f/s measured around it: %.1f %% (goal ≥ %.0f %%, %s), p50 %v, p99 %v, errors %d\n",
		name, r.ok, r.elapsed.Round(time.Millisecond), r.rate(), ceiling, 100*ratio, 100*goal, verdict, r.p(50), r.p(99), r.errors)
	if r.firstErr != nil {
		fmt.Printf("  first error: %v\n", r.firstErr)
	}
	// One comparison costs NumCPU/ceiling seconds of CPU on this machine.
	reportCPU(r, time.Duration(float64(runtime.NumCPU())/ceiling*float64(time.Second)), "one bcrypt comparison")
}

// reportCPU prints what a call cost latch in CPU time against work, the CPU time of the work
// the call cannot avoid (a bcrypt comparison, two signatures), measured in the same run.
func reportCPU(r result, work time.Duration, what string) {
	if r.perCall() == 0 {
		return
	}
	fmt.Printf("  CPU per call: latch %v, of which %s (%v) is %.1f %%; the load client %v\n",
		r.perCall().Round(time.Microsecond), what, work.Round(time.Microsecond),
		100*float64(work)/float64(r.perCall()), (r.clientCPU / time.Duration(max(r.ok, 1))).Round(time.Microsecond))
}

// bcryptCeiling is how many cost-10 comparisons per second this machine does on all cores.
func bcryptCeiling(workers int, d time.Duration) float64 {
	hash, _ := bcrypt.GenerateFromPassword([]byte(password), 10)
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				_ = bcrypt.CompareHashAndPassword(hash, []byte(password))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

type result struct {
	ok, errors int
	elapsed    time.Duration
	latencies  []time.Duration
	firstErr   error
	// serverCPU and clientCPU are the CPU time latch and this process spent in the window.
	// Both share the machine's cores, so for fast calls the client's share is what keeps the
	// rate below a ceiling measured without a client; the server's CPU per call says what a
	// call costs latch itself.
	serverCPU, clientCPU time.Duration
}

// perCall is the server's CPU time per completed call.
func (r result) perCall() time.Duration {
	if r.ok == 0 {
		return 0
	}
	return r.serverCPU / time.Duration(r.ok)
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) p(q int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[(len(r.latencies)-1)*q/100].Round(100 * time.Microsecond)
}

// load runs op from conc workers for a second of warm-up and then d, and counts the calls
// that completed within the d window: a steady-state rate, free of the ramp at the start
// and of the tail of calls still in flight at the end.
func load(conc int, d time.Duration, op func() error) result {
	const warmup = time.Second
	var mu sync.Mutex
	var res result
	start := time.Now().Add(warmup)
	deadline := start.Add(d)
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(time.Until(start))
		server0, client0 := cpuTime(measured), cpuTime(os.Getpid())
		time.Sleep(time.Until(deadline))
		server1, client1 := cpuTime(measured), cpuTime(os.Getpid())
		mu.Lock()
		res.serverCPU, res.clientCPU = server1-server0, client1-client0
		mu.Unlock()
	})
	for range conc {
		wg.Go(func() {
			var lat []time.Duration
			var ok, bad int
			var first error
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := op()
				t1 := time.Now()
				if t1.Before(start) || t1.After(deadline) {
					continue
				}
				if err != nil {
					bad++
					if first == nil {
						first = err
					}
					continue
				}
				ok++
				lat = append(lat, t1.Sub(t0))
			}
			mu.Lock()
			res.ok += ok
			res.errors += bad
			res.latencies = append(res.latencies, lat...)
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = d
	slices.Sort(res.latencies)
	return res
}

type latch struct {
	cmd        *exec.Cmd
	url        string
	dir        string
	readyAfter time.Duration
}

// startLatch starts bin on a free loopback port with an empty data dir; env adds to (and
// overrides) its environment, e.g. the store it uses.
func startLatch(bin string, env ...string) (*latch, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "latchbench-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LATCH_ADDR="+addr, "LATCH_DATA_DIR="+dir, "LATCH_LOG_LEVEL=warn",
		"LATCH_BOOTSTRAP_CLIENT_ID="+bootID, "LATCH_BOOTSTRAP_CLIENT_SECRET="+bootSecret,
		// The load comes from one address: exempt it from IP throttling, as a trusted network is.
		"LATCH_ATTACK_PROTECTION_ALLOWLIST=127.0.0.1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	start := time.Now()
	if err := launch(cmd); err != nil { // dies with latchbench
		return nil, err
	}
	l := &latch{cmd: cmd, url: "http://" + addr, dir: dir}
	measured = cmd.Process.Pid
	for time.Since(start) < 30*time.Second {
		resp, err := http.Get(l.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				l.readyAfter = time.Since(start)
				return l, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.stop()
	return nil, fmt.Errorf("latch did not become ready")
}

func (l *latch) stop() {
	_ = l.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = l.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = l.cmd.Process.Kill()
	}
	os.RemoveAll(l.dir)
}

// measured is the pid of the latch whose CPU time load reads (0: none).
var measured int

// cpuTime is the user plus system CPU time process pid has used so far (0 when unknown),
// from /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, may hold spaces: count fields after its closing parenthesis.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (l *latch) rssMiB() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", l.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

type client struct{ http *http.Client }

func newClient(conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

func (c *client) postJSON(u string, body any, out any) error {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

func (c *client) get(u, bearer string) error {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return c.do(req, nil)
}

func (c *client) token(base string, form url.Values) (string, error) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err := c.do(req, &out)
	return out.AccessToken, err
}

// benchRules are five typical rules: claims from metadata, a login counter saved in
// user_metadata, a domain check, a configuration value, the request's geoip.
var benchRules = []string{
	`function (user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  context.idToken['https://example.com/plan'] = user.user_metadata.plan || 'free';
  context.accessToken['https://example.com/plan'] = user.user_metadata.plan || 'free';
  callback(null, user, context);
}`,
	`function (user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  user.user_metadata.logins = (user.user_metadata.logins || 0) + 1;
  auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
    .then(function () { callback(null, user, context); })
    .catch(function (err) { callback(err); });
}`,
	`function (user, context, callback) {
  if (user.email.split('@')[1] === 'blocked.example') return callback(new UnauthorizedError('Access denied'));
  callback(null, user, context);
}`,
	`function (user, context, callback) {
  context.idToken['https://example.com/tier'] = configuration.DEFAULT_TIER;
  callback(null, user, context);
}`,
	`function (user, context, callback) {
  var geo = context.request.geoip || {};
  context.idToken['https://example.com/country'] = geo.country_code || 'unknown';
  callback(null, user, context);
}`,
}

// postJSONAuth sends a JSON body with the Management token.
func (c *client) postJSONAuth(u, token, method string, body any) error {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), method, u, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return c.do(req, nil)
}

func (c *client) createApp(base, mgmt string) (string, string, error) {
	data, _ := json.Marshal(map[string]any{
		"name": "bench", "app_type": "regular_web", "token_endpoint_auth_method": "client_secret_post",
		"grant_types": []string{"http://auth0.com/oauth/grant-type/password-realm"},
	})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/api/v2/clients", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+mgmt)
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	err := c.do(req, &out)
	return out.ClientID, out.ClientSecret, err
}
