package mongo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/storage"
)

// openTwo opens two Stores on one database, as two latch instances would.
func openTwo(t *testing.T) (*Store, *Store) {
	t.Helper()
	uri := mongotest.URI(t)
	var stores [2]*Store
	for i := range stores {
		s, err := Open(t.Context(), uri, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}
	return stores[0], stores[1]
}

func counterUser() storage.User {
	return storage.User{
		ID: storage.NewUserID(), Connection: "db", Email: "counter@example.com",
		UserMetadata: storage.Metadata{}, CreatedAt: storage.Now(),
	}
}

// Twenty goroutines each add one to a counter many times: every increment lands.
func TestUpdateUserCounter(t *testing.T) {
	s := openTest(t)
	t.Cleanup(func() { _ = s.Close() })
	u := counterUser()
	if err := s.CreateUser(t.Context(), u, "$2a$10$hash"); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	start := make(chan struct{})
	for range goroutines {
		wg.Go(func() {
			<-start
			for range each {
				_, err := s.UpdateUser(t.Context(), u.ID, func(v storage.User) (storage.User, error) {
					v.LoginsCount++
					return v, nil
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UpdateUser: %v", err)
	}
	got, err := s.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LoginsCount != goroutines*each {
		t.Errorf("logins_count = %d, want %d", got.LoginsCount, goroutines*each)
	}
	if h, err := s.PasswordHash(t.Context(), u.ID); err != nil || h != "$2a$10$hash" {
		t.Errorf("hash after the updates = %q, %v; want it untouched", h, err)
	}
}

// A write from another instance between the read and the write of an update makes the
// update start over from the new state: the version check, not a lock, decides.
func TestUpdateUserRetriesAfterAnotherInstanceWrote(t *testing.T) {
	a, b := openTwo(t)
	ctx := t.Context()
	u := counterUser()
	if err := a.CreateUser(ctx, u, "$2a$10$old"); err != nil {
		t.Fatal(err)
	}
	calls := 0
	got, err := a.UpdateUser(ctx, u.ID, func(v storage.User) (storage.User, error) {
		calls++
		if calls == 1 {
			// The other instance writes the profile and the hash in between.
			if _, err := b.UpdateUser(ctx, u.ID, func(w storage.User) (storage.User, error) {
				w.Name = "from b"
				w.LoginsCount = 100
				return w, nil
			}); err != nil {
				t.Errorf("UpdateUser on b: %v", err)
			}
			if err := b.SetPasswordHash(ctx, u.ID, "$2a$10$new"); err != nil {
				t.Errorf("SetPasswordHash on b: %v", err)
			}
		}
		v.LoginsCount++
		v.Nickname = "from a"
		return v, nil
	})
	if err != nil {
		t.Fatalf("UpdateUser on a: %v", err)
	}
	if calls < 2 {
		t.Fatalf("the updater ran %d time(s): the write in between went unnoticed", calls)
	}
	for _, v := range []storage.User{got, mustGetUser(t, b, u.ID)} {
		if v.Name != "from b" || v.Nickname != "from a" || v.LoginsCount != 101 {
			t.Errorf("user = name %q, nickname %q, logins %d; want b's write and a's on top of it (101)", v.Name, v.Nickname, v.LoginsCount)
		}
	}
	if h, err := a.PasswordHash(ctx, u.ID); err != nil || h != "$2a$10$new" {
		t.Errorf("hash = %q, %v; an update of the profile must not write the hash back", h, err)
	}
}

// The same for a rotation: once another instance has rotated a token, this one cannot.
func TestRotateAfterAnotherInstanceRotated(t *testing.T) {
	a, b := openTwo(t)
	ctx := t.Context()
	old := storage.RefreshToken{ID: storage.TokenID("old"), FamilyID: "fam", UserID: "auth0|u", ClientID: "c"}
	if err := a.CreateRefreshToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	next := func(s string) storage.RefreshToken {
		return storage.RefreshToken{ID: storage.TokenID(s), FamilyID: "fam", UserID: "auth0|u", ClientID: "c"}
	}
	if err := b.RotateRefreshToken(ctx, old.ID, storage.Now(), next("b")); err != nil {
		t.Fatalf("rotate on b: %v", err)
	}
	if err := a.RotateRefreshToken(ctx, old.ID, storage.Now(), next("a")); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("rotate on a after b = %v, want ErrConflict", err)
	}
	if _, err := a.GetRefreshToken(ctx, next("a").ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the refused rotation left its next token: %v", err)
	}
	if _, err := a.GetRefreshToken(ctx, next("b").ID); err != nil {
		t.Errorf("b's next token: %v", err)
	}
}

// An update waiting for this process's lock on a document gives up when its context
// ends.
func TestUpdateWaitsWithinContext(t *testing.T) {
	s := openTest(t)
	t.Cleanup(func() { _ = s.Close() })
	u := counterUser()
	if err := s.CreateUser(t.Context(), u, ""); err != nil {
		t.Fatal(err)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := s.UpdateUser(context.Background(), u.ID, func(v storage.User) (storage.User, error) {
			close(inside)
			<-release
			return v, nil
		})
		done <- err
	}()
	<-inside
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	called := false
	_, err := s.UpdateUser(ctx, u.ID, func(v storage.User) (storage.User, error) {
		called = true
		return v, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) || called {
		t.Errorf("update behind a held lock = %v (updater called: %v), want the context's error", err, called)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the first update: %v", err)
	}
}

func mustGetUser(t *testing.T, s *Store, id string) storage.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
