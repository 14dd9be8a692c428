package flow

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/storage"
)

// originsTTL bounds how stale the allowed-origin set may be when another instance changed
// a client; this instance's own client writes drop it at once.
const originsTTL = 5 * time.Second

// originSet caches the origins that some client allows, for CORS.
type originSet struct {
	mu      sync.Mutex
	origins map[string]bool
	loaded  time.Time
}

func (o *originSet) invalidate() {
	o.mu.Lock()
	o.origins = nil
	o.mu.Unlock()
}

// OriginAllowed says whether a browser on origin may call the token, revocation and
// userinfo endpoints: the origin is listed by some client in its allowed origins or web
// origins, or is the origin of one of its callback URLs (AUTH0-COMPAT §0.7).
func (s *Service) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	if origin == "" || origin == "null" {
		return false, nil
	}
	o := &s.corsOrigins
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.origins == nil || time.Since(o.loaded) > originsTTL {
		set, err := s.loadOrigins(ctx)
		if err != nil {
			return false, err
		}
		o.origins, o.loaded = set, time.Now()
	}
	return o.origins[origin], nil
}

func (s *Service) loadOrigins(ctx context.Context) (map[string]bool, error) {
	set := map[string]bool{}
	for page := 0; ; page++ {
		clients, total, err := s.clients.ListClients(ctx, storage.Page{Page: page, PerPage: 100})
		if err != nil {
			return nil, err
		}
		for _, c := range clients {
			for _, list := range [][]string{c.AllowedOrigins, c.WebOrigins} {
				for _, o := range list {
					set[strings.TrimSuffix(o, "/")] = true
				}
			}
			for _, cb := range c.Callbacks {
				if o := originOf(cb); o != "" {
					set[o] = true
				}
			}
		}
		if (page+1)*100 >= total || len(clients) == 0 {
			return set, nil
		}
	}
}
