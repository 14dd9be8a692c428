package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/latchauth/latch/storage"
)

var concurrencyTests = []subtest{
	{"UpdateUserLosesNoUpdate", testConcurrentUpdateUser},
	{"CreateUserSameEmail", testConcurrentCreateSameEmail},
	{"UpdateClientLosesNoUpdate", testConcurrentUpdateClient},
}

const workers = 50

// parallel runs f(i) for i in [0, workers) with every goroutine released at once, so
// that the calls really overlap, and returns their errors by index.
func parallel(f func(i int) error) []error { return parallelN(workers, f) }

// parallelN is parallel with n goroutines.
func parallelN(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// Read-modify-write through UpdateUser must be atomic: each goroutine adds its own key,
// and a lost update would drop one.
func testConcurrentUpdateUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	u := newUser("db", "contended@example.com", 1)
	u.UserMetadata = storage.Metadata{"initial": json.Number("1")}
	u.LoginsCount = 0
	createUser(t, s, u)

	errs := parallel(func(i int) error {
		_, err := s.UpdateUser(ctx, u.ID, func(old storage.User) (storage.User, error) {
			old.UserMetadata = storage.MergeMetadata(old.UserMetadata, storage.Metadata{
				fmt.Sprintf("worker_%02d", i): json.Number(fmt.Sprint(i)),
			})
			old.LoginsCount++
			return old, nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: UpdateUser: %v", i, err)
		}
	}

	got := getUser(t, s, u.ID)
	if len(got.UserMetadata) != workers+1 {
		t.Errorf("user_metadata has %d keys, want %d", len(got.UserMetadata), workers+1)
	}
	for i := range workers {
		key := fmt.Sprintf("worker_%02d", i)
		if v := got.UserMetadata[key]; v != json.Number(fmt.Sprint(i)) {
			t.Errorf("user_metadata[%s] = %#v, want json.Number(%q): an update was lost", key, v, fmt.Sprint(i))
		}
	}
	if got.UserMetadata["initial"] != json.Number("1") {
		t.Errorf("user_metadata[initial] = %#v, want json.Number(\"1\")", got.UserMetadata["initial"])
	}
	if got.LoginsCount != workers {
		t.Errorf("logins_count = %d, want %d", got.LoginsCount, workers)
	}
}

// Uniqueness must hold under concurrent sign-ups with one email, whatever its case.
func testConcurrentCreateSameEmail(t *testing.T, s storage.Store) {
	ctx := t.Context()
	users := make([]storage.User, workers)
	for i := range users {
		users[i] = newUser("db", "Race@Example.com", i)
		if i%2 == 1 {
			users[i].Email = strings.ToUpper(users[i].Email)
		}
	}
	errs := parallel(func(i int) error { return s.CreateUser(ctx, users[i], "hash") })

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("workers %d and %d both created a user with the same email", winner, i)
			}
			winner = i
		case !errors.Is(err, storage.ErrAlreadyExists):
			t.Errorf("worker %d: CreateUser = %v, want nil or ErrAlreadyExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no CreateUser succeeded")
	}

	got, err := s.GetUserByEmail(ctx, "db", "race@example.com")
	must(t, "GetUserByEmail", err)
	if got.ID != users[winner].ID {
		t.Errorf("GetUserByEmail = %s, want the winner %s", got.ID, users[winner].ID)
	}
	_, total, err := s.ListUsers(ctx, storage.Page{PerPage: workers})
	must(t, "ListUsers", err)
	if total != 1 {
		t.Errorf("ListUsers total = %d, want 1", total)
	}
	for i, u := range users {
		if i == winner {
			continue
		}
		if _, err := s.PasswordHash(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("loser %d left a password hash behind: %v", i, err)
		}
	}
}

func testConcurrentUpdateClient(t *testing.T, s storage.Store) {
	ctx := t.Context()
	c := newClient(1)
	c.Callbacks = nil
	must(t, "CreateClient", s.CreateClient(ctx, c))

	errs := parallel(func(i int) error {
		_, err := s.UpdateClient(ctx, c.ID, func(old storage.Client) (storage.Client, error) {
			old.Callbacks = append(old.Callbacks, fmt.Sprintf("https://app.example.com/cb/%d", i))
			return old, nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: UpdateClient: %v", i, err)
		}
	}
	got := getClient(t, s, c.ID)
	seen := make(map[string]bool)
	for _, cb := range got.Callbacks {
		seen[cb] = true
	}
	for i := range workers {
		if cb := fmt.Sprintf("https://app.example.com/cb/%d", i); !seen[cb] {
			t.Errorf("callback %s missing: an update was lost", cb)
		}
	}
	if len(got.Callbacks) != workers {
		t.Errorf("%d callbacks, want %d", len(got.Callbacks), workers)
	}
}
