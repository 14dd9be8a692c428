package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		runChild()
		return
	}
	Main(m)
}

// childEnv makes the test binary the child of TestServerDiesWithBinary: it starts a server,
// says its directory and pid, and waits to be killed.
const childEnv = "REDISTEST_CHILD"

func runChild() {
	dir, err := os.MkdirTemp("", "redistest-child-")
	if err != nil {
		panic(err)
	}
	p, err := startFree(dir)
	if err != nil {
		panic(err)
	}
	fmt.Printf("DIR %s\nPID %d\n", dir, p.cmd.Process.Pid)
	select {}
}

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", url, err)
	}
	o.MaxRetries = -1
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ping(t *testing.T, url string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return client(t, url).Ping(ctx).Err()
}

// URL reaches a server, the one of $LATCH_TEST_REDIS_URL or one this binary starts; with
// the variable unset, the binary's own, started once.
func TestURL(t *testing.T) {
	if err := ping(t, URL(t)); err != nil {
		t.Fatalf("PING the server of URL: %v", err)
	}
	t.Setenv(EnvURL, "")
	own := URL(t)
	if err := ping(t, own); err != nil {
		t.Fatalf("PING the binary's own server: %v", err)
	}
	if again := URL(t); again != own {
		t.Fatalf("URL started a second server: %s, then %s", own, again)
	}
	if !strings.HasPrefix(own, "redis://127.0.0.1:") {
		t.Fatalf("the binary's own server is at %s, want loopback", own)
	}
}

// A prefix is the test's own, and its keys are gone once the test ends.
func TestPrefix(t *testing.T) {
	c := client(t, URL(t))
	var prefix string
	t.Run("writer", func(t *testing.T) {
		prefix = Prefix(t)
		if other := Prefix(t); other == prefix {
			t.Fatalf("two calls gave the same prefix %q", prefix)
		}
		for _, k := range []string{"a", "b", "c:d"} {
			if err := c.Set(t.Context(), prefix+k, "v", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if strings.ContainsAny(prefix, "{}*?[]") || !strings.HasSuffix(prefix, ":") {
		t.Errorf("prefix %q", prefix)
	}
	keys, err := c.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("keys left under the prefix after its test ended: %v", keys)
	}
}

// A Server stops (its clients see it down) and starts again at the same URL, empty.
func TestServerStopStart(t *testing.T) {
	s := NewServer(t)
	url := s.URL()
	c := client(t, url)
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := ping(t, s.SocketURL()); err != nil {
		t.Fatalf("PING over the unix socket: %v", err)
	}

	s.Stop()
	s.Stop() // stopping a stopped server does nothing
	if err := ping(t, url); err == nil {
		t.Fatal("PING answered after Stop")
	}

	s.Start()
	s.Start() // starting a running server does nothing
	if s.URL() != url {
		t.Fatalf("URL changed across the restart: %s, then %s", url, s.URL())
	}
	if err := ping(t, url); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	if err := c.Get(t.Context(), "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a key written before the restart: %v, want redis.Nil (nothing is persisted)", err)
	}
}
