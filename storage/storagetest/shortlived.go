package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// RunShortLived is the conformance suite of storage.ShortLived, for every backend of shared
// short-lived state; it runs RunLoginFailures and RunRateLimits too. newState returns a
// fresh, empty backend and a function that moves the backend's clock forward by d.
//
// The backend's clock must start at the real time, give or take a minute: the suite dates
// its records from time.Now() and keeps at least a minute between the clock and every
// expiry it checks, so the time the test itself takes does not matter, and nothing sleeps.
func RunShortLived(t *testing.T, newState func(t *testing.T) (storage.ShortLived, func(time.Duration))) {
	t.Run("LoginFailures", func(t *testing.T) {
		RunLoginFailures(t, func(t *testing.T) (storage.LoginFailures, func(time.Duration)) {
			return newState(t)
		})
	})
	t.Run("RateLimits", func(t *testing.T) {
		RunRateLimits(t, func(t *testing.T) (storage.RateLimits, func(time.Duration)) {
			return newState(t)
		})
	})
	groups := []struct {
		name  string
		tests []shortLivedTest
	}{
		{"Transactions", transactionTests},
		{"Sessions", sessionTests},
		{"Codes", codeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) {
					s, advance := newState(t)
					// Sub-millisecond digits and a zone other than UTC check the backend's
					// normalisation; Round(0) drops the monotonic reading, which no backend keeps.
					now := time.Now().Round(0).In(time.FixedZone("UTC+2", 2*3600))
					st.run(t, &shortLived{s: s, advance: advance, t0: now})
				})
			}
		})
	}
}

type shortLivedTest struct {
	name string
	run  func(t *testing.T, e *shortLived)
}

// shortLived is a backend under test, with its clock.
type shortLived struct {
	s       storage.ShortLived
	advance func(time.Duration)
	t0      time.Time // the backend's clock when the test started
}

// after is t0 plus d: the instant fixtures are dated with.
func (e *shortLived) after(d time.Duration) time.Time { return e.t0.Add(d) }

var transactionTests = []shortLivedTest{
	{"CreateGetDelete", testTransactionCreateGetDelete},
	{"DeleteExactlyOnce", testTransactionDeleteOnce},
	{"Expiry", testTransactionExpiry},
}

var sessionTests = []shortLivedTest{
	{"CreateGetUpdateDelete", testSessionCreateGetUpdateDelete},
	{"IdleExpiry", testSessionIdleExpiry},
	{"AbsoluteExpiry", testSessionAbsoluteExpiry},
	{"UpdateExpired", testSessionUpdateExpired},
	{"DeleteUserSessions", testSessionDeleteUser},
	{"ReturnsCopies", testSessionReturnsCopies},
}

var codeTests = []shortLivedTest{
	{"CreateConsume", testCodeCreateConsume},
	{"ConcurrentConsumeOneWinner", testCodeConcurrentConsume},
	{"ExpiredUnused", testCodeExpiredUnused},
	{"ReusedAfterExpiry", testCodeReusedAfterExpiry},
	{"ReturnsCopies", testCodeReturnsCopies},
}

// newTransaction returns a transaction with every field set, expiring after ttl.
func (e *shortLived) newTransaction(ttl time.Duration) storage.LoginTransaction {
	return storage.LoginTransaction{
		ID:                  storage.NewOpaqueToken(),
		ClientID:            "client-1",
		RedirectURI:         "https://app.example.com/callback",
		ResponseType:        "code",
		ResponseMode:        "form_post",
		Scope:               "openid profile offline_access",
		Audience:            "https://api.example.com/",
		State:               "st-ünïcode 🦊",
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Prompt:              "login",
		MaxAge:              -1,
		LoginHint:           "jane@example.com",
		ScreenHint:          "signup",
		Connection:          "Username-Password-Authentication",
		UILocales:           "fr-CA en",
		CSRF:                storage.NewOpaqueToken(),
		CreatedAt:           e.t0,
		ExpiresAt:           e.after(ttl),
	}
}

// normalTransaction returns x with its times as a store returns them.
func normalTransaction(x storage.LoginTransaction) storage.LoginTransaction {
	x.CreatedAt, x.ExpiresAt = storage.Time(x.CreatedAt), storage.Time(x.ExpiresAt)
	return x
}

func (e *shortLived) getTransaction(t *testing.T, id string) storage.LoginTransaction {
	t.Helper()
	x, err := e.s.GetTransaction(t.Context(), id)
	must(t, "GetTransaction", err)
	return x
}

func (e *shortLived) wantNoTransaction(t *testing.T, what, id string) {
	t.Helper()
	_, err := e.s.GetTransaction(t.Context(), id)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetTransaction of %s: error = %v, want ErrNotFound", what, err)
	}
}

func testTransactionCreateGetDelete(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in := e.newTransaction(10 * time.Minute)
	must(t, "CreateTransaction", e.s.CreateTransaction(ctx, in))
	want := normalTransaction(in)
	assertEqual(t, "GetTransaction", e.getTransaction(t, in.ID), want)

	other := e.newTransaction(10 * time.Minute)
	other.MaxAge, other.Prompt = 0, ""
	must(t, "CreateTransaction other", e.s.CreateTransaction(ctx, other))

	dup := e.newTransaction(20 * time.Minute)
	dup.ID = in.ID
	wantErr(t, "CreateTransaction same id", e.s.CreateTransaction(ctx, dup), storage.ErrAlreadyExists)
	assertEqual(t, "transaction after a refused duplicate", e.getTransaction(t, in.ID), want)

	_, err := e.s.GetTransaction(ctx, "missing")
	wantErr(t, "GetTransaction missing", err, storage.ErrNotFound)
	wantErr(t, "DeleteTransaction missing", e.s.DeleteTransaction(ctx, "missing"), storage.ErrNotFound)

	must(t, "DeleteTransaction", e.s.DeleteTransaction(ctx, in.ID))
	e.wantNoTransaction(t, "a deleted transaction", in.ID)
	wantErr(t, "DeleteTransaction twice", e.s.DeleteTransaction(ctx, in.ID), storage.ErrNotFound)
	assertEqual(t, "other transaction", e.getTransaction(t, other.ID), normalTransaction(other))
}

// Of concurrent finishers of one login, exactly one gets to finish it.
func testTransactionDeleteOnce(t *testing.T, e *shortLived) {
	in := e.newTransaction(10 * time.Minute)
	must(t, "CreateTransaction", e.s.CreateTransaction(t.Context(), in))
	errs := parallel(func(int) error { return e.s.DeleteTransaction(t.Context(), in.ID) })
	exactlyOneWinner(t, "DeleteTransaction", errs, storage.ErrNotFound)
	e.wantNoTransaction(t, "a deleted transaction", in.ID)
}

func testTransactionExpiry(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in, untouched := e.newTransaction(10*time.Minute), e.newTransaction(10*time.Minute)
	long := e.newTransaction(time.Hour)
	for _, x := range []storage.LoginTransaction{in, untouched, long} {
		must(t, "CreateTransaction", e.s.CreateTransaction(ctx, x))
	}

	e.advance(9 * time.Minute)
	assertEqual(t, "transaction before its expiry", e.getTransaction(t, in.ID), normalTransaction(in))

	e.advance(2 * time.Minute)
	e.wantNoTransaction(t, "an expired transaction", in.ID)
	wantErr(t, "DeleteTransaction of an expired transaction", e.s.DeleteTransaction(ctx, in.ID), storage.ErrNotFound)
	assertEqual(t, "transaction that has not expired", e.getTransaction(t, long.ID), normalTransaction(long))

	// An expired transaction is as if it had never been: its id is free, whether or not
	// anything looked at it since it expired.
	for _, id := range []string{in.ID, untouched.ID} {
		again := e.newTransaction(time.Hour)
		again.ID = id
		must(t, "CreateTransaction with the id of an expired one", e.s.CreateTransaction(ctx, again))
		assertEqual(t, "transaction recreated", e.getTransaction(t, id), normalTransaction(again))
	}
}

// newSession returns a session of the user with every field set: idle for 30 minutes, at
// most a day.
func (e *shortLived) newSession(userID string) storage.Session {
	return storage.Session{
		ID:            storage.TokenID(storage.NewOpaqueToken()),
		UserID:        userID,
		AuthTime:      e.after(-time.Second),
		Clients:       []string{"client-1", "client-2"},
		CreatedAt:     e.t0,
		LastSeen:      e.t0,
		IdleExpiresAt: e.after(30 * time.Minute),
		ExpiresAt:     e.after(24 * time.Hour),
	}
}

func normalSession(x storage.Session) storage.Session {
	x.AuthTime, x.CreatedAt, x.LastSeen = storage.Time(x.AuthTime), storage.Time(x.CreatedAt), storage.Time(x.LastSeen)
	x.IdleExpiresAt, x.ExpiresAt = storage.Time(x.IdleExpiresAt), storage.Time(x.ExpiresAt)
	x.Clients = append([]string(nil), x.Clients...)
	return x
}

func (e *shortLived) createSessions(t *testing.T, sessions ...storage.Session) {
	t.Helper()
	for _, x := range sessions {
		must(t, "CreateSession", e.s.CreateSession(t.Context(), x))
	}
}

func (e *shortLived) getSession(t *testing.T, id string) storage.Session {
	t.Helper()
	x, err := e.s.GetSession(t.Context(), id)
	must(t, "GetSession", err)
	return x
}

func (e *shortLived) wantNoSession(t *testing.T, what, id string) {
	t.Helper()
	_, err := e.s.GetSession(t.Context(), id)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetSession of %s: error = %v, want ErrNotFound", what, err)
	}
}

// touch is the updater a login through the session runs: one more client, seen now.
func (e *shortLived) touch(clientID string, seen time.Duration) func(storage.Session) (storage.Session, error) {
	return func(x storage.Session) (storage.Session, error) {
		x.Clients = append(x.Clients, clientID)
		x.LastSeen = e.after(seen)
		x.IdleExpiresAt = e.after(seen + 30*time.Minute)
		return x, nil
	}
}

func testSessionCreateGetUpdateDelete(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in := e.newSession("auth0|jane")
	other := e.newSession("auth0|jane")
	e.createSessions(t, in, other)
	want := normalSession(in)
	assertEqual(t, "GetSession", e.getSession(t, in.ID), want)
	if got := e.getSession(t, in.ID); len(got.Clients) != 2 || got.Clients[1] != "client-2" {
		t.Errorf("clients = %v, want %v in order", got.Clients, in.Clients)
	}

	dup := e.newSession("auth0|john")
	dup.ID = in.ID
	wantErr(t, "CreateSession same id", e.s.CreateSession(ctx, dup), storage.ErrAlreadyExists)
	assertEqual(t, "session after a refused duplicate", e.getSession(t, in.ID), want)

	touch := e.touch("client-3", time.Minute)
	updated, err := e.s.UpdateSession(ctx, in.ID, func(old storage.Session) (storage.Session, error) {
		assertEqual(t, "updater input", old, want)
		return touch(old)
	})
	must(t, "UpdateSession", err)
	want.Clients = append(want.Clients, "client-3")
	want.LastSeen, want.IdleExpiresAt = storage.Time(e.after(time.Minute)), storage.Time(e.after(31*time.Minute))
	assertEqual(t, "UpdateSession result", updated, want)
	assertEqual(t, "GetSession after update", e.getSession(t, in.ID), want)

	_, err = e.s.UpdateSession(ctx, in.ID, func(old storage.Session) (storage.Session, error) {
		old.UserID = "auth0|mallory"
		return old, errUpdater
	})
	wantErr(t, "UpdateSession with a failing updater", err, errUpdater)
	assertEqual(t, "session after a failed updater", e.getSession(t, in.ID), want)

	_, err = e.s.GetSession(ctx, "missing")
	wantErr(t, "GetSession missing", err, storage.ErrNotFound)
	_, err = e.s.UpdateSession(ctx, "missing", touch)
	wantErr(t, "UpdateSession missing", err, storage.ErrNotFound)
	wantErr(t, "DeleteSession missing", e.s.DeleteSession(ctx, "missing"), storage.ErrNotFound)

	must(t, "DeleteSession", e.s.DeleteSession(ctx, in.ID))
	e.wantNoSession(t, "a deleted session", in.ID)
	wantErr(t, "DeleteSession twice", e.s.DeleteSession(ctx, in.ID), storage.ErrNotFound)
	_, err = e.s.UpdateSession(ctx, in.ID, touch)
	wantErr(t, "UpdateSession of a deleted session", err, storage.ErrNotFound)
	assertEqual(t, "other session", e.getSession(t, other.ID), normalSession(other))
}

// A session lapses at its IdleExpiresAt unless an update moves it.
func testSessionIdleExpiry(t *testing.T, e *shortLived) {
	ctx := t.Context()
	used, idle := e.newSession("auth0|jane"), e.newSession("auth0|jane") // idle for 30 minutes
	e.createSessions(t, used, idle)

	e.advance(20 * time.Minute)
	_, err := e.s.UpdateSession(ctx, used.ID, e.touch("client-3", 20*time.Minute)) // idle until 50
	must(t, "UpdateSession", err)

	e.advance(20 * time.Minute) // 40
	e.wantNoSession(t, "a session idle past its IdleExpiresAt", idle.ID)
	got := e.getSession(t, used.ID)
	if !got.IdleExpiresAt.Equal(storage.Time(e.after(50 * time.Minute))) {
		t.Errorf("IdleExpiresAt = %v, want %v", got.IdleExpiresAt, storage.Time(e.after(50*time.Minute)))
	}

	e.advance(15 * time.Minute) // 55
	e.wantNoSession(t, "a session idle past its moved IdleExpiresAt", used.ID)
}

// Whatever its idle end, a session lapses at its ExpiresAt; a zero IdleExpiresAt is no idle
// limit.
func testSessionAbsoluteExpiry(t *testing.T, e *shortLived) {
	capped := e.newSession("auth0|jane")
	capped.IdleExpiresAt, capped.ExpiresAt = e.after(2*time.Hour), e.after(time.Hour)
	noIdle := e.newSession("auth0|jane")
	noIdle.IdleExpiresAt, noIdle.ExpiresAt = time.Time{}, e.after(time.Hour)
	e.createSessions(t, capped, noIdle)

	e.advance(50 * time.Minute)
	assertEqual(t, "session before its end", e.getSession(t, capped.ID), normalSession(capped))
	assertEqual(t, "session without idle limit before its end", e.getSession(t, noIdle.ID), normalSession(noIdle))

	e.advance(15 * time.Minute)
	e.wantNoSession(t, "a session past its ExpiresAt", capped.ID)
	e.wantNoSession(t, "a session without idle limit past its ExpiresAt", noIdle.ID)
}

func testSessionUpdateExpired(t *testing.T, e *shortLived) {
	ctx := t.Context()
	x := e.newSession("auth0|jane")
	x.IdleExpiresAt = e.after(10 * time.Minute)
	e.createSessions(t, x)
	e.advance(11 * time.Minute)

	called := false
	_, err := e.s.UpdateSession(ctx, x.ID, func(s storage.Session) (storage.Session, error) {
		called = true
		s.IdleExpiresAt = e.after(time.Hour)
		return s, nil
	})
	wantErr(t, "UpdateSession of an expired session", err, storage.ErrNotFound)
	if called {
		t.Error("UpdateSession called the updater with an expired session")
	}
	e.wantNoSession(t, "an expired session after UpdateSession", x.ID)
	wantErr(t, "DeleteSession of an expired session", e.s.DeleteSession(ctx, x.ID), storage.ErrNotFound)
}

func testSessionDeleteUser(t *testing.T, e *shortLived) {
	ctx := t.Context()
	a1, a2, deleted := e.newSession("auth0|a"), e.newSession("auth0|a"), e.newSession("auth0|a")
	expired := e.newSession("auth0|a")
	expired.IdleExpiresAt = e.after(5 * time.Minute)
	b := e.newSession("auth0|b")
	e.createSessions(t, a1, a2, deleted, expired, b)
	must(t, "DeleteSession", e.s.DeleteSession(ctx, deleted.ID))
	e.advance(10 * time.Minute)

	n, err := e.s.DeleteUserSessions(ctx, "auth0|a")
	must(t, "DeleteUserSessions", err)
	if n != 2 {
		t.Errorf("DeleteUserSessions = %d, want 2 (a deleted or expired session is not counted)", n)
	}
	e.wantNoSession(t, "a session of a user whose sessions were deleted", a1.ID)
	e.wantNoSession(t, "a session of a user whose sessions were deleted", a2.ID)
	assertEqual(t, "other user's session", e.getSession(t, b.ID), normalSession(b))

	n, err = e.s.DeleteUserSessions(ctx, "auth0|a")
	must(t, "DeleteUserSessions again", err)
	if n != 0 {
		t.Errorf("DeleteUserSessions again = %d, want 0", n)
	}
	n, err = e.s.DeleteUserSessions(ctx, "auth0|nobody")
	must(t, "DeleteUserSessions of a user without sessions", err)
	if n != 0 {
		t.Errorf("DeleteUserSessions of a user without sessions = %d, want 0", n)
	}

	// The user logs in again; an update moving a session to another user moves it in
	// DeleteUserSessions' eyes too.
	fresh, moved := e.newSession("auth0|a"), e.newSession("auth0|b")
	e.createSessions(t, fresh, moved)
	_, err = e.s.UpdateSession(ctx, moved.ID, func(x storage.Session) (storage.Session, error) {
		x.UserID = "auth0|a"
		return x, nil
	})
	must(t, "UpdateSession", err)
	n, err = e.s.DeleteUserSessions(ctx, "auth0|b")
	must(t, "DeleteUserSessions of the user a session moved from", err)
	if n != 1 {
		t.Errorf("DeleteUserSessions of the user a session moved from = %d, want 1", n)
	}
	e.wantNoSession(t, "a deleted user's session", b.ID)
	if got := e.getSession(t, moved.ID); got.UserID != "auth0|a" {
		t.Errorf("moved session: UserID = %q, want auth0|a", got.UserID)
	}
	n, err = e.s.DeleteUserSessions(ctx, "auth0|a")
	must(t, "DeleteUserSessions after a new login", err)
	if n != 2 {
		t.Errorf("DeleteUserSessions after a new login = %d, want 2", n)
	}
	e.wantNoSession(t, "a session moved to a user whose sessions were deleted", moved.ID)
	e.wantNoSession(t, "a deleted user's session", fresh.ID)
}

func testSessionReturnsCopies(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in := e.newSession("auth0|jane")
	want := normalSession(in)
	e.createSessions(t, in)

	in.Clients[0] = "changed by caller"
	got := e.getSession(t, in.ID)
	got.Clients[0] = "changed by reader"
	assertEqual(t, "session after callers changed values", e.getSession(t, in.ID), want)

	updated, err := e.s.UpdateSession(ctx, in.ID, func(x storage.Session) (storage.Session, error) { return x, nil })
	must(t, "UpdateSession", err)
	updated.Clients[1] = "changed by updater's caller"
	_, err = e.s.UpdateSession(ctx, in.ID, func(x storage.Session) (storage.Session, error) {
		x.Clients[0] = "changed by a failing updater"
		return x, errUpdater
	})
	wantErr(t, "UpdateSession with a failing updater", err, errUpdater)
	assertEqual(t, "session after callers changed values", e.getSession(t, in.ID), want)
}

const codeClaims = `{"https://example.com/roles":["admin","dev"],"https://example.com/org":{"id":"org_1","size":7},"n":1}`

// newCode returns an authorization code with every field set, expiring after ttl.
func (e *shortLived) newCode(t *testing.T, ttl time.Duration) storage.AuthCode {
	return storage.AuthCode{
		ID:                  storage.TokenID(storage.NewOpaqueToken()),
		ClientID:            "client-1",
		RedirectURI:         "https://app.example.com/callback",
		UserID:              "auth0|jane",
		SessionID:           storage.TokenID(storage.NewOpaqueToken()),
		Scope:               "openid profile offline_access",
		Audience:            "https://api.example.com/",
		Nonce:               "n-0S6_WzA2Mj",
		AuthTime:            e.after(-time.Second),
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		IDClaims:            mustMetadata(t, codeClaims),
		AccessClaims:        mustMetadata(t, `{"https://example.com/tenant":"acme","n":2.5}`),
		FamilyID:            storage.NewOpaqueToken(),
		CreatedAt:           e.t0,
		ExpiresAt:           e.after(ttl),
	}
}

// normalCode returns a deep copy of c with its times as a store returns them.
func normalCode(c storage.AuthCode) storage.AuthCode {
	c.AuthTime, c.CreatedAt, c.ExpiresAt = storage.Time(c.AuthTime), storage.Time(c.CreatedAt), storage.Time(c.ExpiresAt)
	c.IDClaims, c.AccessClaims = c.IDClaims.Clone(), c.AccessClaims.Clone()
	return c
}

func testCodeCreateConsume(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in := e.newCode(t, time.Minute)
	must(t, "CreateCode", e.s.CreateCode(ctx, in))
	want := normalCode(in)

	dup := e.newCode(t, time.Minute)
	dup.ID = in.ID
	wantErr(t, "CreateCode same id", e.s.CreateCode(ctx, dup), storage.ErrAlreadyExists)

	got, err := e.s.ConsumeCode(ctx, in.ID)
	must(t, "ConsumeCode", err)
	assertEqual(t, "ConsumeCode", got, want)

	got, err = e.s.ConsumeCode(ctx, in.ID)
	wantErr(t, "ConsumeCode twice", err, storage.ErrCodeReused)
	assertEqual(t, "code returned with ErrCodeReused", got, want)

	// A used code still holds its id.
	wantErr(t, "CreateCode with the id of a used code", e.s.CreateCode(ctx, dup), storage.ErrAlreadyExists)
	got, err = e.s.ConsumeCode(ctx, in.ID)
	wantErr(t, "ConsumeCode after a refused duplicate", err, storage.ErrCodeReused)
	assertEqual(t, "code after a refused duplicate", got, want)

	_, err = e.s.ConsumeCode(ctx, "missing")
	wantErr(t, "ConsumeCode missing", err, storage.ErrNotFound)

	// Codes are independent.
	other := e.newCode(t, time.Minute)
	must(t, "CreateCode other", e.s.CreateCode(ctx, other))
	got, err = e.s.ConsumeCode(ctx, other.ID)
	must(t, "ConsumeCode other", err)
	assertEqual(t, "other code", got, normalCode(other))
}

func testCodeConcurrentConsume(t *testing.T, e *shortLived) {
	const consumers = 100
	in := e.newCode(t, time.Minute)
	must(t, "CreateCode", e.s.CreateCode(t.Context(), in))
	want := normalCode(in)

	got := make([]storage.AuthCode, consumers)
	errs := parallelN(consumers, func(i int) (err error) {
		got[i], err = e.s.ConsumeCode(t.Context(), in.ID)
		return err
	})
	exactlyOneWinner(t, "ConsumeCode", errs, storage.ErrCodeReused)
	for i := range got {
		if d := diff(got[i], want); d != "" {
			t.Errorf("consumer %d (error %v) got another code than was stored:\n%s", i, errs[i], d)
		}
	}
}

func testCodeExpiredUnused(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in := e.newCode(t, time.Minute)
	long := e.newCode(t, time.Hour)
	must(t, "CreateCode", e.s.CreateCode(ctx, in))
	must(t, "CreateCode", e.s.CreateCode(ctx, long))

	e.advance(2 * time.Minute)
	for i := range 2 {
		_, err := e.s.ConsumeCode(ctx, in.ID)
		wantErr(t, fmt.Sprintf("ConsumeCode #%d of an expired, unused code", i+1), err, storage.ErrNotFound)
	}
	got, err := e.s.ConsumeCode(ctx, long.ID)
	must(t, "ConsumeCode of a code that has not expired", err)
	assertEqual(t, "code that has not expired", got, normalCode(long))
}

// A used code is recognised as reused after its expiry, for UsedCodeMemory.
func testCodeReusedAfterExpiry(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in := e.newCode(t, time.Minute)
	must(t, "CreateCode", e.s.CreateCode(ctx, in))
	want := normalCode(in)
	_, err := e.s.ConsumeCode(ctx, in.ID)
	must(t, "ConsumeCode", err)

	e.advance(storage.UsedCodeMemory) // one minute before the memory ends
	got, err := e.s.ConsumeCode(ctx, in.ID)
	wantErr(t, "ConsumeCode of a used code after its expiry", err, storage.ErrCodeReused)
	assertEqual(t, "used code after its expiry", got, want)
	if got.FamilyID != in.FamilyID {
		t.Errorf("FamilyID = %q, want %q", got.FamilyID, in.FamilyID)
	}

	e.advance(2 * time.Minute) // one minute after
	_, err = e.s.ConsumeCode(ctx, in.ID)
	wantErr(t, "ConsumeCode of a used code past UsedCodeMemory", err, storage.ErrNotFound)
}

func testCodeReturnsCopies(t *testing.T, e *shortLived) {
	ctx := t.Context()
	in := e.newCode(t, time.Minute)
	want := normalCode(in)
	must(t, "CreateCode", e.s.CreateCode(ctx, in))

	in.IDClaims["n"] = "changed by caller"
	in.IDClaims["https://example.com/roles"].([]any)[0] = "changed by caller"
	in.AccessClaims["added"] = true
	got, err := e.s.ConsumeCode(ctx, in.ID)
	must(t, "ConsumeCode", err)
	assertEqual(t, "code after the caller changed what it stored", got, want)

	got.IDClaims["n"] = "changed by reader"
	got.IDClaims["https://example.com/org"].(map[string]any)["id"] = "changed by reader"
	got.IDClaims["https://example.com/roles"].([]any)[1] = "changed by reader"
	delete(got.AccessClaims, "n")
	got, err = e.s.ConsumeCode(ctx, in.ID)
	wantErr(t, "ConsumeCode twice", err, storage.ErrCodeReused)
	assertEqual(t, "code after a reader changed a returned one", got, want)
}

// exactlyOneWinner checks that one call succeeded and every other failed with loss.
func exactlyOneWinner(t *testing.T, op string, errs []error, loss error) {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("%s: calls %d and %d both succeeded", op, winner, i)
			}
			winner = i
		case !errors.Is(err, loss):
			t.Errorf("%s: call %d: error = %v, want nil or %v", op, i, err, loss)
		}
	}
	if winner < 0 {
		t.Errorf("%s: no call succeeded", op)
	}
}
