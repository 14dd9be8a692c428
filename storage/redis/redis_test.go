package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/storagetest"
)

// TestMain stops the redis-server that redistest may have started for this binary.
func TestMain(m *testing.M) { redistest.Main(m) }

// fakeClock starts at the real time, as RunShortLived requires, and moves only when told.
func fakeClock() (func() time.Time, func(time.Duration)) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	return clock, advance
}

// open connects a State to url, closed when t ends.
func open(t testing.TB, url string, opts ...Option) *State {
	t.Helper()
	s, err := New(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawClient is a plain client on url, to look at what the State wrote.
func rawClient(t testing.TB, url string) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Each subtest gets a key prefix of its own on the shared server, so tests of this and other
// packages may run at once.
func TestShortLived(t *testing.T) {
	url := redistest.URL(t)
	storagetest.RunShortLived(t, func(t *testing.T) (storage.ShortLived, func(time.Duration)) {
		clock, advance := fakeClock()
		return open(t, url, WithPrefix(redistest.Prefix(t)), WithClock(clock)), advance
	})
}

// Two States on one prefix are two instances of latch sharing a Redis: what the suite checks
// for one client must hold across clients too.
func TestConcurrentAcrossInstances(t *testing.T) {
	concurrentAcrossInstances(t, redistest.URL(t), redistest.Prefix(t))
}

func concurrentAcrossInstances(t *testing.T, url, prefix string) {
	a, b := open(t, url, WithPrefix(prefix)), open(t, url, WithPrefix(prefix))
	pick := func(i int) *State {
		if i%2 == 0 {
			return a
		}
		return b
	}
	ctx := t.Context()
	const callers = 100

	t.Run("ConsumeCodeOneWinner", func(t *testing.T) {
		code := storage.AuthCode{ID: storage.TokenID(storage.NewOpaqueToken()), FamilyID: "fam-1", ExpiresAt: time.Now().Add(time.Minute)}
		if err := a.CreateCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		var wins, reused int
		var mu sync.Mutex
		run(callers, func(i int) {
			got, err := pick(i).ConsumeCode(ctx, code.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, storage.ErrCodeReused):
				reused++
			default:
				t.Errorf("ConsumeCode #%d: %v", i, err)
			}
			if got.FamilyID != "fam-1" {
				t.Errorf("ConsumeCode #%d returned FamilyID %q", i, got.FamilyID)
			}
		})
		if wins != 1 || reused != callers-1 {
			t.Fatalf("%d concurrent ConsumeCode: %d succeeded, %d reused; want 1 and %d", callers, wins, reused, callers-1)
		}
	})

	t.Run("RecordFailureCountsAll", func(t *testing.T) {
		run(callers, func(i int) {
			if _, err := pick(i).RecordFailure(ctx, "jane@example.com", "10.0.0.1", time.Hour); err != nil {
				t.Errorf("RecordFailure #%d: %v", i, err)
			}
		})
		for _, s := range []*State{a, b} {
			if n, err := s.FailureCount(ctx, "jane@example.com", "10.0.0.1"); err != nil || n != callers {
				t.Fatalf("FailureCount after %d concurrent failures = %d, %v", callers, n, err)
			}
		}
	})

	t.Run("TakeRateExact", func(t *testing.T) {
		l := storage.Limit{Burst: 10, Interval: time.Hour}
		var allowed int
		var mu sync.Mutex
		run(callers, func(i int) {
			ok, _, err := pick(i).TakeRate(ctx, "login:10.0.0.1", l)
			if err != nil {
				t.Errorf("TakeRate #%d: %v", i, err)
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
		if allowed != l.Burst {
			t.Fatalf("%d concurrent TakeRate with burst %d: %d allowed", callers, l.Burst, allowed)
		}
	})

	// Each updater adds its own client: a lost update (a write that did not check the
	// version it read) would drop one.
	t.Run("UpdateSessionNoLostUpdate", func(t *testing.T) {
		now := time.Now()
		x := storage.Session{ID: storage.TokenID(storage.NewOpaqueToken()), UserID: "auth0|jane", IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
		if err := a.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
		const updaters = 40
		run(updaters, func(i int) {
			_, err := pick(i).UpdateSession(ctx, x.ID, func(old storage.Session) (storage.Session, error) {
				old.Clients = append(old.Clients, fmt.Sprintf("client-%02d", i))
				return old, nil
			})
			if err != nil {
				t.Errorf("UpdateSession #%d: %v", i, err)
			}
		})
		got, err := b.GetSession(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Clients) != updaters {
			t.Fatalf("after %d concurrent updates the session has %d clients: %v", updaters, len(got.Clients), got.Clients)
		}
		slices.Sort(got.Clients)
		for i, c := range got.Clients {
			if want := fmt.Sprintf("client-%02d", i); c != want {
				t.Fatalf("clients[%d] = %q, want %q (all: %v)", i, c, want, got.Clients)
			}
		}
	})
}

// run calls f(i) for i in [0, n) from n goroutines released at once.
func run(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// Records leave Redis on their own: every key has a TTL that covers the record's life (plus
// the slack) and no more, so a deployment frees memory without a sweeper.
func TestKeysExpireInRedis(t *testing.T) {
	url := redistest.URL(t)
	s := open(t, url, WithPrefix(redistest.Prefix(t)))
	raw := rawClient(t, url)
	ctx := t.Context()
	now := time.Now()

	pttl := func(key string, want time.Duration) {
		t.Helper()
		got, err := raw.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		// want is the longest the key may be kept; the test's own time may have eaten a little.
		if got > want || got < want-time.Minute {
			t.Errorf("PTTL of %s = %v, want about %v", key, got, want)
		}
	}

	tx := storage.LoginTransaction{ID: "tx-1", ExpiresAt: now.Add(10 * time.Minute)}
	must(t, s.CreateTransaction(ctx, tx))
	pttl(s.key("tx", tx.ID), 10*time.Minute+ttlSlack)

	x := storage.Session{ID: "sess-1", UserID: "auth0|jane", IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(24 * time.Hour)}
	must(t, s.CreateSession(ctx, x))
	pttl(s.key("sess", x.ID), 30*time.Minute+ttlSlack)
	pttl(s.key("usess", x.UserID), 30*time.Minute+ttlSlack)
	_, err := s.UpdateSession(ctx, x.ID, func(x storage.Session) (storage.Session, error) {
		x.IdleExpiresAt = now.Add(2 * time.Hour)
		return x, nil
	})
	must(t, err)
	pttl(s.key("sess", x.ID), 2*time.Hour+ttlSlack)
	pttl(s.key("usess", x.UserID), 2*time.Hour+ttlSlack)

	c := storage.AuthCode{ID: "code-1", ExpiresAt: now.Add(time.Minute)}
	must(t, s.CreateCode(ctx, c))
	pttl(s.key("code", c.ID), time.Minute+ttlSlack)
	_, err = s.ConsumeCode(ctx, c.ID)
	must(t, err)
	pttl(s.key("code", c.ID), time.Minute+storage.UsedCodeMemory+ttlSlack)

	_, err = s.RecordFailure(ctx, "jane", "10.0.0.1", 15*time.Minute)
	must(t, err)
	pttl(s.key("fail", "jane"), 15*time.Minute+ttlSlack)

	_, _, err = s.TakeRate(ctx, "k", storage.Limit{Burst: 3, Interval: 10 * time.Minute})
	must(t, err)
	pttl(s.key("rate", "k"), 10*time.Minute+ttlSlack)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Ids are the caller's (and an identifier or a rate-limit key may come from a request):
// whatever they hold, they stay inside the prefix, pick no hash slot and never meet.
func TestHostileIDs(t *testing.T) {
	srv := redistest.NewServer(t) // a server of its own: every key on it is this test's
	const prefix = "app:"
	s := open(t, srv.URL(), WithPrefix(prefix))
	ctx := t.Context()
	hostile := []string{
		"", "a", "A", "{a}", "{", "}", "}{", "a{b}c", "*", "a*", "?", "[a-z]", "a b", " ", "a\nb",
		"\n", "\r\n", "\x00", "a\x00b", "tx:a", "../a", "latch:a", "app:a", "a:", ":a",
		"ü{ñ}", strings.Repeat("x", 1<<20), strings.Repeat("{y}", 1000),
	}
	now := time.Now()
	for i, id := range hostile {
		must(t, s.CreateTransaction(ctx, storage.LoginTransaction{ID: id, State: fmt.Sprint(i), ExpiresAt: now.Add(time.Hour)}))
		must(t, s.CreateSession(ctx, storage.Session{ID: id, UserID: id, AuthTime: now, ExpiresAt: now.Add(time.Hour), Clients: []string{fmt.Sprint(i)}}))
		must(t, s.CreateCode(ctx, storage.AuthCode{ID: id, Nonce: fmt.Sprint(i), ExpiresAt: now.Add(time.Hour)}))
		for range i + 1 {
			_, err := s.RecordFailure(ctx, id, id, time.Hour)
			must(t, err)
		}
		ok, _, err := s.TakeRate(ctx, id, storage.Limit{Burst: 1, Interval: time.Hour})
		must(t, err)
		if !ok {
			t.Errorf("TakeRate of a fresh key %.40q refused: it met another key", id)
		}
	}
	for i, id := range hostile {
		tx, err := s.GetTransaction(ctx, id)
		if err != nil || tx.ID != id || tx.State != fmt.Sprint(i) {
			t.Errorf("transaction %.40q: got id %.40q state %q, %v", id, tx.ID, tx.State, err)
		}
		x, err := s.GetSession(ctx, id)
		if err != nil || x.ID != id || !slices.Equal(x.Clients, []string{fmt.Sprint(i)}) {
			t.Errorf("session %.40q: got id %.40q clients %q, %v", id, x.ID, x.Clients, err)
		}
		c, err := s.ConsumeCode(ctx, id)
		if err != nil || c.ID != id || c.Nonce != fmt.Sprint(i) {
			t.Errorf("code %.40q: got id %.40q nonce %q, %v", id, c.ID, c.Nonce, err)
		}
		if n, err := s.FailureCount(ctx, id, id); err != nil || n != i+1 {
			t.Errorf("failures of %.40q = %d, %v; want %d", id, n, err, i+1)
		}
		if ips, err := s.BlockedIPs(ctx, id, 1); err != nil || !slices.Equal(ips, []string{id}) {
			t.Errorf("BlockedIPs of %.40q = %.80q, %v", id, ips, err)
		}
		if n, err := s.DeleteUserSessions(ctx, id); err != nil || n != 1 {
			t.Errorf("DeleteUserSessions of %.40q = %d, %v; want 1", id, n, err)
		}
	}

	keys, err := rawClient(t, srv.URL()).Keys(ctx, "*").Result()
	must(t, err)
	// Per id: transaction, code, failures, rate (sessions were deleted; their user indexes
	// hold no entry left, and are gone).
	if want := 4 * len(hostile); len(keys) != want {
		t.Errorf("Redis holds %d keys, want %d", len(keys), want)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || strings.ContainsAny(k, "{}*?[] \n\x00") || len(k) > 64 {
			t.Errorf("key %.80q escapes the layout", k)
		}
	}
}

// Two prefixes on one Redis are two deployments that never see each other.
func TestPrefixesApart(t *testing.T) {
	url := redistest.URL(t)
	base := redistest.Prefix(t)
	a, b := open(t, url, WithPrefix(base+"a:")), open(t, url, WithPrefix(base+"b:"))
	ctx := t.Context()
	must(t, a.CreateTransaction(ctx, storage.LoginTransaction{ID: "same", ExpiresAt: time.Now().Add(time.Hour)}))
	if _, err := b.GetTransaction(ctx, "same"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("another prefix's transaction: %v, want ErrNotFound", err)
	}
	must(t, b.CreateTransaction(ctx, storage.LoginTransaction{ID: "same", ExpiresAt: time.Now().Add(time.Hour)}))
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, url := range []string{"", "http://localhost:6379", "redis://user:s3cret@[bad", "unix://"} {
		_, err := New(t.Context(), url)
		if err == nil {
			t.Errorf("New(%q): no error", url)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("New(%q): the error shows the password: %v", url, err)
		}
		if errors.Is(err, ErrUnavailable) {
			t.Errorf("New(%q): a bad URL is not an unavailable Redis: %v", url, err)
		}
	}
}

// A unix socket URL works as a TCP one does, and both reach the same database.
func TestUnixSocket(t *testing.T) {
	srv := redistest.NewServer(t)
	overSocket, overTCP := open(t, srv.SocketURL()), open(t, srv.URL())
	ctx := t.Context()
	must(t, overSocket.CreateTransaction(ctx, storage.LoginTransaction{ID: "t", State: "via socket", ExpiresAt: time.Now().Add(time.Hour)}))
	got, err := overTCP.GetTransaction(ctx, "t")
	if err != nil || got.State != "via socket" {
		t.Fatalf("transaction written over the socket, read over TCP: %+v, %v", got, err)
	}
}

// go-redis retries a command whose reply was lost: a retried ConsumeCode is the same call,
// and must not be told that the code was reused by itself.
func TestConsumeCodeRetryIsSameCall(t *testing.T) {
	s := open(t, redistest.URL(t), WithPrefix(redistest.Prefix(t)))
	ctx := t.Context()
	must(t, s.CreateCode(ctx, storage.AuthCode{ID: "c", FamilyID: "f", ExpiresAt: time.Now().Add(time.Minute)}))
	consume := func(token string) int64 {
		t.Helper()
		reply, err := consumeCodeScript.Run(ctx, s.rdb, []string{s.key("code", "c")},
			ms(s.clock()), storage.UsedCodeMemory.Milliseconds(), ttlSlack.Milliseconds(), token).Result()
		must(t, err)
		status, _, err := scriptReply(reply)
		must(t, err)
		return status
	}
	if got := consume("call-1"); got != 1 {
		t.Fatalf("first use: status %d, want 1", got)
	}
	if got := consume("call-1"); got != 1 {
		t.Fatalf("the same call again (a retry): status %d, want 1", got)
	}
	if got := consume("call-2"); got != 2 {
		t.Fatalf("another call: status %d, want 2 (reused)", got)
	}
	if _, err := s.ConsumeCode(ctx, "c"); !errors.Is(err, storage.ErrCodeReused) {
		t.Fatalf("ConsumeCode after use: %v, want ErrCodeReused", err)
	}
}
