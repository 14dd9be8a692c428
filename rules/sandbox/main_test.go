package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/rules"
)

func TestMain(m *testing.M) {
	// Worker processes started with the test setting mode=fake serve fakeRunner instead of
	// the engine, to test the transport and the supervision on their own.
	newWorkerRunner = func(c *workerConfig) (rules.Runner, error) {
		if c.Test["mode"] == "fake" {
			return &fakeRunner{}, nil
		}
		return newEngineRunner(c)
	}
	MaybeRunWorker()
	if os.Getenv(envOrphanParent) == "1" {
		orphanParent()
		return
	}
	os.Exit(m.Run())
}

// envOrphanParent makes the test binary a parent for TestWorkersDieWithTheParent: it starts
// a pool, prints its workers' pids and waits to be killed.
const envOrphanParent = "SANDBOX_TEST_ORPHAN_PARENT"

func orphanParent() {
	p, err := NewPool(PoolOptions{Workers: 2, test: map[string]string{"mode": "fake"}})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	// One worker deaf to its stdin, one idle.
	go p.Run(context.Background(), fakeReq("deaf", time.Hour))
	time.Sleep(100 * time.Millisecond)
	fmt.Println(strings.Trim(fmt.Sprint(p.pids()), "[]"))
	time.Sleep(time.Hour)
}

// fakeRunner obeys the command in its first script's source.
type fakeRunner struct{ runs int }

func (f *fakeRunner) Run(ctx context.Context, req rules.Request) (rules.Response, error) {
	f.runs++
	cmd, arg, _ := strings.Cut(req.Scripts[0].Source, " ")
	ok := rules.Response{Outcome: rules.OutcomeOK, Timings: []rules.ScriptTiming{}}
	switch cmd {
	case "ok":
		ok.IDTokenClaims = map[string]any{"pid": os.Getpid(), "runs": f.runs}
		ok.MetadataWrites = []rules.MetadataWrite{{Field: rules.FieldAppMetadata, Patch: req.User.AppMetadata}}
		return ok, nil
	case "sleep": // stuck, deaf to ctx: a native builtin that runs on
		d, _ := time.ParseDuration(arg)
		time.Sleep(d)
		return ok, nil
	case "sleepctx":
		d, _ := time.ParseDuration(arg)
		select {
		case <-time.After(d):
			return ok, nil
		case <-ctx.Done():
			return rules.Response{}, ctx.Err()
		}
	case "alloc": // keeps allocating and touching memory
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			hoard = append(hoard, b)
		}
	case "exit":
		code, _ := strconv.Atoi(arg)
		os.Exit(code)
	case "fatal": // a Go runtime fatal error, which no recover catches
		var mu sync.Mutex
		mu.Unlock()
		return ok, nil
	case "recurse": // Go stack overflow
		return rules.Response{Console: []string{strconv.Itoa(recurse(1))}}, nil
	case "deaf": // a worker that does not notice the end of its stdin
		ignoreEOF.Store(true)
		time.Sleep(time.Hour)
		return ok, nil
	case "panic":
		panic("fake engine bug")
	case "garbage":
		workerOut.Write([]byte("\x00\x00\x00\x05hello"))
		time.Sleep(time.Hour)
	case "extra": // an answer and a stray frame after it
		go func() {
			time.Sleep(50 * time.Millisecond)
			writeFrame(workerOut, fromWorker{Type: frameResult, ID: 999})
		}()
		return ok, nil
	case "stdout":
		fmt.Println("printed on stdout")
		fmt.Fprintln(os.Stderr, "printed on stderr")
		return ok, nil
	case "big":
		ok.IDTokenClaims = map[string]any{"big": strings.Repeat("x", 8<<20)}
		return ok, nil
	case "nan":
		ok.IDTokenClaims = map[string]any{"nan": math.NaN()}
		return ok, nil
	case "error":
		return rules.Response{}, fmt.Errorf("engine says no")
	}
	return rules.Response{}, fmt.Errorf("fake: unknown command %q", cmd)
}

// hoard keeps what "alloc" allocates.
var hoard [][]byte

// recurse recurses until the Go stack limit kills the process.
func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	if n < 0 { // never: keeps the recursion from looking infinite to vet and staticcheck
		return 0
	}
	return recurse(n+1) + int(pad[(n+1)%256])
}

// fakeReq is a request for the fake runner.
func fakeReq(cmd string, pipeline time.Duration) rules.Request {
	return rules.Request{
		Trigger: rules.TriggerPostLogin,
		Scripts: []rules.Script{{ID: "rul_1", Name: "fake", Kind: rules.KindRule, Source: cmd}},
		Limits:  rules.Limits{Pipeline: pipeline, PerScript: pipeline},
	}
}

func claimPID(t *testing.T, resp rules.Response) int {
	t.Helper()
	n, ok := resp.IDTokenClaims["pid"].(json.Number)
	if !ok {
		t.Fatalf("pid claim = %#v, want a json.Number", resp.IDTokenClaims["pid"])
	}
	pid, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return int(pid)
}
