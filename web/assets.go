package web

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// Assets serves the static files of the pages: the embedded styles and scripts, brand.css
// (the Brand's colours as CSS custom properties) and, when configured, custom.css. The server
// mounts it with http.StripPrefix("/u/assets", p.Assets()).
//
// Only the names it knows are served (no directory listing, no file system behind it, so no
// path traversal); anything else is 404, any method but GET and HEAD is 405. Every answer
// carries X-Content-Type-Options: nosniff. The pages link assets as /u/assets/NAME?v=HASH: a
// request with the current hash may be cached for a year (immutable); any other must be
// revalidated (no-cache, with an ETag).
func (p *Pages) Assets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/")
		a := p.assets[name]
		if !ok || a == nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", `"`+a.version+`"`)
		if r.URL.Query().Get("v") == a.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	})
}
