package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/storage"
)

// BenchmarkRedis measures the calls on the path of a login against a real redis-server on
// loopback: each is one round trip (a script or a read), so ns/op is mostly that.
func BenchmarkRedis(b *testing.B) {
	s := open(b, redistest.URL(b), WithPrefix(redistest.Prefix(b)))
	ctx := b.Context()
	now := time.Now()

	b.Run("ConsumeCode", func(b *testing.B) {
		ids := make([]string, b.N)
		for i := range ids {
			ids[i] = fmt.Sprintf("bench-code-%d-%d", b.N, i)
			c := storage.AuthCode{ID: ids[i], ClientID: "client-1", UserID: "auth0|jane", Scope: "openid profile",
				IDClaims: storage.Metadata{"https://example.com/roles": []any{"admin"}}, ExpiresAt: now.Add(time.Minute)}
			if err := s.CreateCode(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.ConsumeCode(ctx, ids[i]); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("TakeRate", func(b *testing.B) {
		l := storage.Limit{Burst: 1 << 30, Interval: time.Millisecond}
		for i := range b.N {
			if _, _, err := s.TakeRate(ctx, fmt.Sprintf("login:10.0.%d.%d", i/256%256, i%256), l); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("GetSession", func(b *testing.B) {
		x := storage.Session{ID: storage.TokenID(storage.NewOpaqueToken()), UserID: "auth0|jane", AuthTime: now,
			Clients: []string{"client-1", "client-2"}, CreatedAt: now, LastSeen: now,
			IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
		if err := s.CreateSession(ctx, x); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := s.GetSession(ctx, x.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
