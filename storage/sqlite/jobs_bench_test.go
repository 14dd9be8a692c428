package sqlite

import (
	"fmt"
	"testing"

	"github.com/latchauth/latch/storage"
)

// BenchmarkImportUsers stores users in batches of 500, as an import job does; one op is one
// user.
func BenchmarkImportUsers(b *testing.B) {
	s := openTemp(b)
	defer s.Close()
	const batch = 500
	n := 0
	b.ResetTimer()
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
