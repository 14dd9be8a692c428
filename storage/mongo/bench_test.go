package mongo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/latchauth/latch/storage"
)

// The benchmarks have the names, fixtures and shapes of storage/sqlite's, so that the two
// backends compare line by line (docs/BENCHMARKS.md). They run against the embedded
// FerretDB unless $LATCH_TEST_MONGO_URI names a MongoDB.

// benchUser is a realistic profile: a few metadata keys, one nested.
func benchUser(i int) storage.User {
	return storage.User{
		ID:            storage.NewUserID(),
		Connection:    "Username-Password-Authentication",
		Email:         fmt.Sprintf("user%d@example.com", i),
		EmailVerified: true,
		Name:          fmt.Sprintf("User %d", i),
		Nickname:      fmt.Sprintf("user%d", i),
		Picture:       "https://s.gravatar.com/avatar/x.png",
		UserMetadata:  storage.Metadata{"theme": "dark", "lang": "fr", "prefs": map[string]any{"tz": "Europe/Paris"}},
		AppMetadata:   storage.Metadata{"plan": "gold", "roles": []any{"admin", "billing"}},
		CreatedAt:     storage.Now(),
		UpdatedAt:     storage.Now(),
		LoginsCount:   int64(i),
	}
}

// seed fills a store with n users and returns their ids.
func seed(b *testing.B, s *Store, n int) []string {
	b.Helper()
	ids := make([]string, n)
	for i := range n {
		u := benchUser(i)
		if err := s.CreateUser(b.Context(), u, "$2a$10$hash"); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

func openBench(b *testing.B) *Store {
	b.Helper()
	s := openTest(b)
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkGetUser(b *testing.B) {
	s := openBench(b)
	ids := seed(b, s, 1000)
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.GetUser(b.Context(), ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetUser(b.Context(), ids[int(next.Add(1))%len(ids)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkGetUserByEmail is the password login's lookup.
func BenchmarkGetUserByEmail(b *testing.B) {
	s := openBench(b)
	const n = 1000
	seed(b, s, n)
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.GetUserByEmail(b.Context(), "Username-Password-Authentication", fmt.Sprintf("User%d@example.com", i%n)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				email := fmt.Sprintf("user%d@example.com", int(next.Add(1))%n)
				if _, err := s.GetUserByEmail(b.Context(), "Username-Password-Authentication", email); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkUpdateUserMetadata is the PATCH /api/v2/users/{id} path: a read-modify-write
// merging one key into user_metadata.
func BenchmarkUpdateUserMetadata(b *testing.B) {
	s := openBench(b)
	ids := seed(b, s, 100)
	update := func(i int) error {
		_, err := s.UpdateUser(b.Context(), ids[i%len(ids)], func(u storage.User) (storage.User, error) {
			u.UserMetadata = storage.MergeMetadata(u.UserMetadata, storage.Metadata{"counter": json.Number(strconv.Itoa(i))})
			u.UpdatedAt = storage.Now()
			return u, nil
		})
		return err
	}
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := update(i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := update(int(next.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkCreateUser(b *testing.B) {
	s := openBench(b)
	var n atomic.Int64
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := s.CreateUser(b.Context(), benchUser(int(n.Add(1))), "$2a$10$hash"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.CreateUser(b.Context(), benchUser(int(n.Add(1))), "$2a$10$hash"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkImportUsers stores users in batches of 500, as an import job does; one op is one
// user.
func BenchmarkImportUsers(b *testing.B) {
	s := openBench(b)
	const batch = 500
	n := 0
	for b.Loop() {
		if n%batch == 0 {
			users := make([]storage.ImportedUser, batch)
			for i := range users {
				u := storage.User{
					ID: storage.NewUserID(), Connection: "db", Email: fmt.Sprintf("u%d-%d@example.com", n, i),
					Name: "Some Body", Nickname: "some", Picture: "https://example.com/p.png",
					UserMetadata: storage.Metadata{"plan": "gold", "n": i}, CreatedAt: storage.Now(), UpdatedAt: storage.Now(),
				}
				users[i] = storage.ImportedUser{User: u, PasswordHash: "$2a$10$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabc"}
			}
			if _, err := s.ImportUsers(b.Context(), users, nil); err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
}
