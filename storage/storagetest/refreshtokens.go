package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

var refreshTokenTests = []subtest{
	{"CreateGet", testRefreshTokenCreateGet},
	{"Rotate", testRefreshTokenRotate},
	{"RotateIsAtomic", testRefreshTokenRotateAtomic},
	{"ConcurrentRotateOneWinner", testRefreshTokenConcurrentRotate},
	{"RevokeFamily", testRefreshTokenRevokeFamily},
	{"RevokeUser", testRefreshTokenRevokeUser},
	{"DeleteExpired", testRefreshTokenDeleteExpired},
	{"DeleteUserRemovesTokens", testRefreshTokenDeleteUser},
}

// newRefreshToken returns an unrotated token of the family with every other field set,
// created at minute n.
func newRefreshToken(userID, familyID string, n int) storage.RefreshToken {
	return storage.RefreshToken{
		ID:            storage.TokenID(storage.NewOpaqueToken()),
		FamilyID:      familyID,
		UserID:        userID,
		ClientID:      "client-1",
		Audience:      "https://api.example.com/",
		Scope:         "openid profile offline_access",
		SessionID:     storage.TokenID(storage.NewOpaqueToken()),
		AuthTime:      at(n - 1),
		CreatedAt:     at(n),
		ExpiresAt:     at(n + 30*24*60),
		IdleExpiresAt: at(n + 15*24*60),
	}
}

func getRefreshToken(t *testing.T, s storage.Store, id string) storage.RefreshToken {
	t.Helper()
	rt, err := s.GetRefreshToken(t.Context(), id)
	must(t, "GetRefreshToken", err)
	return rt
}

func wantNoRefreshToken(t *testing.T, s storage.Store, what, id string) {
	t.Helper()
	_, err := s.GetRefreshToken(t.Context(), id)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetRefreshToken of %s: error = %v, want ErrNotFound", what, err)
	}
}

func createRefreshTokens(t *testing.T, s storage.Store, tokens ...storage.RefreshToken) {
	t.Helper()
	for _, rt := range tokens {
		must(t, "CreateRefreshToken", s.CreateRefreshToken(t.Context(), rt))
	}
}

func testRefreshTokenCreateGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	// Every field set, including RotatedAt, and times with sub-millisecond digits.
	raw := newRefreshToken("auth0|u1", "fam-1", 1)
	raw.AuthTime = base.Add(-time.Hour)
	raw.RotatedAt = base.Add(2 * time.Minute).In(time.FixedZone("X", 3600))
	createRefreshTokens(t, s, raw)
	want := raw
	want.AuthTime, want.RotatedAt = storage.Time(raw.AuthTime), storage.Time(raw.RotatedAt)
	assertEqual(t, "GetRefreshToken", getRefreshToken(t, s, raw.ID), want)

	// Zero times (never expires, not rotated) come back zero, and empty strings empty.
	bare := storage.RefreshToken{ID: "bare", FamilyID: "fam-2", UserID: "auth0|u1", ClientID: "c"}
	createRefreshTokens(t, s, bare)
	got := getRefreshToken(t, s, bare.ID)
	assertEqual(t, "bare refresh token", got, bare)
	if !got.ExpiresAt.IsZero() || !got.IdleExpiresAt.IsZero() || !got.RotatedAt.IsZero() || !got.AuthTime.IsZero() {
		t.Errorf("zero times came back %v, %v, %v, %v", got.ExpiresAt, got.IdleExpiresAt, got.RotatedAt, got.AuthTime)
	}

	dup := newRefreshToken("auth0|u2", "fam-3", 5)
	dup.ID = raw.ID
	wantErr(t, "CreateRefreshToken same id", s.CreateRefreshToken(ctx, dup), storage.ErrAlreadyExists)
	assertEqual(t, "refresh token after a refused duplicate", getRefreshToken(t, s, raw.ID), want)

	_, err := s.GetRefreshToken(ctx, "missing")
	wantErr(t, "GetRefreshToken missing", err, storage.ErrNotFound)
}

func testRefreshTokenRotate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	old := newRefreshToken("auth0|u1", "fam-1", 1)
	createRefreshTokens(t, s, old)

	next := newRefreshToken("auth0|u1", "fam-1", 10)
	next.ExpiresAt = old.ExpiresAt // rotation does not extend the family
	rotatedAt := base.Add(10*time.Minute + 123*time.Microsecond)
	must(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, old.ID, rotatedAt, next))

	wantOld := old
	wantOld.RotatedAt = storage.Time(rotatedAt)
	assertEqual(t, "rotated token", getRefreshToken(t, s, old.ID), wantOld)
	assertEqual(t, "next token", getRefreshToken(t, s, next.ID), next)

	// A second rotation of the same token is refused, and stores nothing.
	again := newRefreshToken("auth0|u1", "fam-1", 20)
	wantErr(t, "RotateRefreshToken twice", s.RotateRefreshToken(ctx, old.ID, at(20), again), storage.ErrConflict)
	wantNoRefreshToken(t, s, "the next token of a refused rotation", again.ID)
	assertEqual(t, "token after a refused second rotation", getRefreshToken(t, s, old.ID), wantOld)

	// The next token rotates in turn.
	third := newRefreshToken("auth0|u1", "fam-1", 30)
	must(t, "RotateRefreshToken of the next token", s.RotateRefreshToken(ctx, next.ID, at(30), third))
	if got := getRefreshToken(t, s, next.ID); !got.RotatedAt.Equal(at(30)) {
		t.Errorf("next token RotatedAt = %v, want %v", got.RotatedAt, at(30))
	}

	// Unknown tokens.
	orphan := newRefreshToken("auth0|u1", "fam-1", 40)
	wantErr(t, "RotateRefreshToken unknown", s.RotateRefreshToken(ctx, "missing", at(40), orphan), storage.ErrNotFound)
	wantNoRefreshToken(t, s, "the next token of an unknown one", orphan.ID)
}

// A rotation whose next token cannot be stored leaves the old token unrotated.
func testRefreshTokenRotateAtomic(t *testing.T, s storage.Store) {
	ctx := t.Context()
	old := newRefreshToken("auth0|u1", "fam-1", 1)
	taken := newRefreshToken("auth0|u2", "fam-2", 2)
	createRefreshTokens(t, s, old, taken)

	next := newRefreshToken("auth0|u1", "fam-1", 3)
	next.ID = taken.ID
	wantErr(t, "RotateRefreshToken to a taken id", s.RotateRefreshToken(ctx, old.ID, at(3), next), storage.ErrAlreadyExists)
	assertEqual(t, "old token after a failed rotation", getRefreshToken(t, s, old.ID), old)
	assertEqual(t, "token holding the id", getRefreshToken(t, s, taken.ID), taken)

	// It can still rotate.
	ok := newRefreshToken("auth0|u1", "fam-1", 4)
	must(t, "RotateRefreshToken after a failed rotation", s.RotateRefreshToken(ctx, old.ID, at(4), ok))
}

func testRefreshTokenConcurrentRotate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	old := newRefreshToken("auth0|u1", "fam-1", 1)
	createRefreshTokens(t, s, old)
	nexts := make([]storage.RefreshToken, workers)
	for i := range nexts {
		nexts[i] = newRefreshToken("auth0|u1", "fam-1", 10+i)
	}
	errs := parallel(func(i int) error { return s.RotateRefreshToken(ctx, old.ID, at(10+i), nexts[i]) })

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("workers %d and %d both rotated the token", winner, i)
			}
			winner = i
		case !errors.Is(err, storage.ErrConflict):
			t.Errorf("worker %d: RotateRefreshToken = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no RotateRefreshToken succeeded")
	}
	if got := getRefreshToken(t, s, old.ID); !got.RotatedAt.Equal(at(10 + winner)) {
		t.Errorf("RotatedAt = %v, want the winner's %v", got.RotatedAt, at(10+winner))
	}
	for i, n := range nexts {
		if i == winner {
			assertEqual(t, "winner's next token", getRefreshToken(t, s, n.ID), n)
			continue
		}
		wantNoRefreshToken(t, s, fmt.Sprintf("loser %d's next token", i), n.ID)
	}
}

func testRefreshTokenRevokeFamily(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a1, a2 := newRefreshToken("auth0|u1", "fam-a", 1), newRefreshToken("auth0|u1", "fam-a", 2)
	b1, b2 := newRefreshToken("auth0|u1", "fam-b", 3), newRefreshToken("auth0|u2", "fam-b", 4)
	createRefreshTokens(t, s, a1, b1, b2)
	must(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, a1.ID, at(5), a2))

	n, err := s.RevokeRefreshTokenFamily(ctx, "fam-a")
	must(t, "RevokeRefreshTokenFamily", err)
	if n != 2 {
		t.Errorf("RevokeRefreshTokenFamily = %d, want 2", n)
	}
	wantNoRefreshToken(t, s, "a revoked (rotated) token", a1.ID)
	wantNoRefreshToken(t, s, "a revoked token", a2.ID)
	assertEqual(t, "token of another family", getRefreshToken(t, s, b1.ID), b1)
	assertEqual(t, "token of another family", getRefreshToken(t, s, b2.ID), b2)

	// A revoked token is unknown to rotation too.
	wantErr(t, "RotateRefreshToken of a revoked token",
		s.RotateRefreshToken(ctx, a2.ID, at(6), newRefreshToken("auth0|u1", "fam-a", 6)), storage.ErrNotFound)

	n, err = s.RevokeRefreshTokenFamily(ctx, "fam-a")
	must(t, "RevokeRefreshTokenFamily again", err)
	if n != 0 {
		t.Errorf("RevokeRefreshTokenFamily again = %d, want 0", n)
	}
}

func testRefreshTokenRevokeUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	u1a, u1b := newRefreshToken("auth0|u1", "fam-a", 1), newRefreshToken("auth0|u1", "fam-b", 2)
	u2 := newRefreshToken("auth0|u2", "fam-c", 3)
	createRefreshTokens(t, s, u1a, u1b, u2)

	n, err := s.RevokeUserRefreshTokens(ctx, "auth0|u1")
	must(t, "RevokeUserRefreshTokens", err)
	if n != 2 {
		t.Errorf("RevokeUserRefreshTokens = %d, want 2", n)
	}
	wantNoRefreshToken(t, s, "a revoked token", u1a.ID)
	wantNoRefreshToken(t, s, "a revoked token", u1b.ID)
	assertEqual(t, "other user's token", getRefreshToken(t, s, u2.ID), u2)

	n, err = s.RevokeUserRefreshTokens(ctx, "auth0|nobody")
	must(t, "RevokeUserRefreshTokens without tokens", err)
	if n != 0 {
		t.Errorf("RevokeUserRefreshTokens without tokens = %d, want 0", n)
	}
}

func testRefreshTokenDeleteExpired(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := at(1000)
	mk := func(n int, expires, idle time.Time) storage.RefreshToken {
		rt := newRefreshToken("auth0|u", fmt.Sprintf("fam-%d", n), n)
		rt.ExpiresAt, rt.IdleExpiresAt = expires, idle
		return rt
	}
	later := now.Add(time.Hour)
	absolute := mk(1, now.Add(-time.Millisecond), later)      // past its absolute end
	idle := mk(2, later, now.Add(-time.Hour))                 // past its idle end
	both := mk(3, now.Add(-time.Hour), now.Add(-time.Minute)) // past both
	absOnly := mk(4, now.Add(-time.Minute), time.Time{})      // no idle limit, but past its end
	idleOnly := mk(5, time.Time{}, now.Add(-time.Minute))     // no absolute end, but idle
	never := mk(6, time.Time{}, time.Time{})                  // zero: never
	live := mk(7, later, later)                               // neither
	atNow := mk(8, now, now)                                  // not past yet
	liveNoIdle := mk(9, later, time.Time{})                   // zero idle: no idle limit
	liveNoEnd := mk(10, time.Time{}, later)                   // zero end: none
	rotated := mk(11, now.Add(-time.Hour), later)             // rotated tokens expire alike
	rotatedNext := mk(12, now.Add(-time.Hour), later)
	createRefreshTokens(t, s, absolute, idle, both, absOnly, idleOnly, never, live, atNow, liveNoIdle, liveNoEnd, rotated)
	must(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, rotated.ID, at(11), rotatedNext))

	n, err := s.DeleteExpiredRefreshTokens(ctx, now)
	must(t, "DeleteExpiredRefreshTokens", err)
	if n != 7 {
		t.Errorf("DeleteExpiredRefreshTokens = %d, want 7", n)
	}
	for name, rt := range map[string]storage.RefreshToken{
		"past its absolute end": absolute, "past its idle end": idle, "past both": both,
		"past its end, no idle limit": absOnly, "idle, no end": idleOnly,
		"rotated and expired": rotated, "next of rotated and expired": rotatedNext,
	} {
		wantNoRefreshToken(t, s, "a token "+name, rt.ID)
	}
	for name, rt := range map[string]storage.RefreshToken{
		"that never expires": never, "live": live, "expiring exactly now": atNow,
		"without idle limit": liveNoIdle, "without absolute end": liveNoEnd,
	} {
		got, err := s.GetRefreshToken(ctx, rt.ID)
		if err != nil {
			t.Errorf("a token %s was deleted: %v", name, err)
			continue
		}
		assertEqual(t, "a token "+name, got, rt)
	}

	n, err = s.DeleteExpiredRefreshTokens(ctx, now)
	must(t, "DeleteExpiredRefreshTokens again", err)
	if n != 0 {
		t.Errorf("DeleteExpiredRefreshTokens again = %d, want 0", n)
	}
}

func testRefreshTokenDeleteUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	gone := createUser(t, s, newUser("db", "gone@example.com", 1))
	keep := createUser(t, s, newUser("db", "keep@example.com", 2))
	g1, g2 := newRefreshToken(gone.ID, "fam-a", 1), newRefreshToken(gone.ID, "fam-b", 2)
	k := newRefreshToken(keep.ID, "fam-c", 3)
	createRefreshTokens(t, s, g1, g2, k)

	must(t, "DeleteUser", s.DeleteUser(ctx, gone.ID))
	wantNoRefreshToken(t, s, "a deleted user's token", g1.ID)
	wantNoRefreshToken(t, s, "a deleted user's token", g2.ID)
	assertEqual(t, "other user's token", getRefreshToken(t, s, k.ID), k)
}
