// Package sandbox runs rule pipelines in supervised worker processes, so that a hostile or
// buggy rule can neither take the server down nor starve other users' logins.
//
// # Why processes
//
// The in-process engine (rules.Engine, on goja) stops a script with vm.Interrupt, which is
// only seen between JavaScript instructions: a native builtin keeps running ('x'.repeat(2**30),
// a huge or deep JSON.stringify, a catastrophic regular expression ran for more than 15 s in a
// measurement; goja runs patterns without lookaround or backreferences on Go's linear-time
// regexp, so it takes one like /^(?=a)(a+)+$/ to get there). goja has no memory limit either:
// a runaway loop allocates about 200 MiB per CPU-second. Only a process boundary bounds both:
// a worker can be killed.
//
// # Design
//
// A Pool implements rules.Runner with N worker processes (PoolOptions.Workers, default
// runtime.GOMAXPROCS(0)), each running one Request at a time; a Run waits for a free worker
// as long as its context allows. The workers are the same executable, started again
// (os.Executable) with LATCH_RULES_WORKER=1 in the environment: MaybeRunWorker, which main and
// every TestMain that uses a Pool call first thing, then runs the worker loop instead of the
// program. A worker builds one rules.Engine, so its compile cache and the rules' `global`
// persist from request to request within that worker (as in Auth0's containers, `global` is
// per worker and starts empty again in a new one).
//
// Pool and worker talk over the worker's stdin and stdout: frames of a 4-byte big-endian
// length and JSON, decoded with UseNumber so that metadata numbers stay exact (the Response's
// metadata patches and claims hold json.Number, storage.Metadata's convention). In the worker,
// file descriptor 1 is pointed at stderr, so a stray print cannot corrupt the frames. The
// worker's stderr is relayed to the pool's slog logger, line by line (the worker's own JSON
// log records keep their level and attributes).
//
// # Supervision
//
// For each request the pool sets a deadline, Request.Limits.Pipeline (20 s when zero) plus
// PoolOptions.DeadlineSlack (500 ms), and reads the worker's resident set size (its
// /proc/<pid>/statm, kept open: one pread) every PollInterval (5 ms) while the request runs,
// and once after it. A worker past its deadline or above MaxWorkerRSS is killed with SIGKILL and the request gets
// Response{Outcome: "error", Error: {Kind: "timeout" | "memory", Message: ...}}, not a Go
// error. A worker that crashes or writes garbage is treated the same, with Kind "internal"
// (or "memory" when the Go runtime died of a stack overflow or out of memory), and a result
// too large to send (MaxResponseBytes) fails with Kind "invalid_result". The killed worker is
// replaced asynchronously; while it is, the other workers keep serving. A worker also asks to
// be replaced after a pipeline that timed out (the engine may have left a goroutine stuck in
// a builtin), and is replaced when it is found above MaxWorkerRSS between requests, dead while
// idle, or talking out of turn. Replacements of workers that died young (under 1 s) back off
// exponentially from 20 ms to 1 s, so a stream of hostile logins cannot turn into a storm of
// process starts.
//
// When the caller's context ends during a run, the worker is told and its engine stops the
// pipeline; a worker that does not answer within DeadlineSlack is killed. Run then returns
// the context's error.
//
// Workers die with the parent: on Linux each is started with a parent-death signal (SIGKILL;
// the pool starts them from one goroutine locked to its OS thread, since the signal follows
// the thread) and in its own process group (a terminal's Ctrl-C reaches the parent, which
// closes the pool, not the workers directly); every worker also exits when its stdin closes.
// Close kills all workers and waits until they are reaped.
//
// # Bounds and defaults
//
//   - Worker memory: killed above MaxWorkerRSS (default 256 MiB) resident. The watchdog polls,
//     so a worker can overshoot by what it allocates in one PollInterval (a few MiB to a few
//     tens of MiB; the tests allow 64 MiB). Its Go soft memory limit (WorkerMemoryLimit) is
//     3/4 of MaxWorkerRSS, so the garbage collector works hard before the watchdog must kill;
//     its Go stack is limited to 64 MiB (WorkerMaxStack) and its oom_score_adj is 1000, so the
//     kernel's OOM killer picks a worker before the server.
//   - Worker CPU: GOMAXPROCS 1 (WorkerGOMAXPROCS): a runaway worker, garbage collector
//     included, uses about one CPU, for at most its deadline.
//   - Time: Limits.Pipeline + DeadlineSlack (500 ms) per request; StartTimeout (15 s) for a
//     worker to start.
//   - Parent memory: per busy worker, at most one frame of MaxResponseBytes (4 MiB) + 64 KiB
//     and its decoded Response, whatever the scripts do; 4 KiB per logged stderr line and at
//     most 2000 lines per worker. The hostile-rule suite checks that the parent's RSS grows
//     by less than 64 MiB while it runs (measured: about 25 MiB, under the race detector).
//
// # Cost
//
// The process boundary costs about 140 µs per request on the 2-core development VM (a bare
// round trip, p50; BenchmarkPoolRun/round-trip), and a five-rule pipeline at concurrency 2
// takes about 245 µs per request through a pool of two workers against 97 µs in process
// (BenchmarkPoolRun/pool and /in-process). Logins spend far more in password hashing.
//
// Outside Linux there is no parent-death signal and no /proc: the RSS watchdog is off (the Go
// memory limit remains) and workers exit when their stdin closes. Deploy on Linux.
package sandbox
