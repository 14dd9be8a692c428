// Package console serves latch's admin console: a single-page app of plain ES modules,
// embedded in the binary, that signs admins in through latch itself (code + PKCE) and works
// through the Management API with a bearer token. It needs no build step and no server-side
// state: this package only hands out the files and the sign-in settings.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// contentSecurityPolicy goes on every answer. It allows only the console's own files and
// calls to its own origin: no inline script, no eval, no framing. With the token kept out of
// cookies, this is what keeps the console's token from other scripts.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

type file struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console under the prefix it is mounted at (the server strips "/admin"):
// "/config.json" is config as JSON, a known file is that file, and any other path without a
// file extension is the app's page (the app routes on the rest). It fails only if config
// cannot be encoded or the embedded files lack the page.
func Handler(config any) (http.Handler, error) {
	files := map[string]file{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, "assets/")] = newFile(path.Ext(p), body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	files["config.json"] = newFile(".json", cfg)
	index, ok := files["index.html"]
	if !ok {
		return nil, fs.ErrNotExist
	}
	index = withModulePreloads(index, files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		f, ok := files[name]
		if !ok {
			if path.Ext(name) != "" {
				http.NotFound(w, r) // a missing script must fail loudly, not load the page
				return
			}
			f = index
		}
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	}), nil
}

// MountPath is where the server mounts the console; the page names its files from it.
const MountPath = "/admin/"

// withModulePreloads lists every script of the console in the page's head as a
// modulepreload, so the browser fetches them all at once instead of discovering them import
// by import (a waterfall as deep as the module graph).
func withModulePreloads(index file, files map[string]file) file {
	var names []string
	for name := range files {
		if strings.HasSuffix(name, ".js") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var links strings.Builder
	for _, name := range names {
		links.WriteString(`<link rel="modulepreload" href="` + MountPath + name + `">` + "\n")
	}
	body := bytes.Replace(index.body, []byte("</head>"), []byte(links.String()+"</head>"), 1)
	return newFile(".html", body)
}

func newFile(ext string, body []byte) file {
	sum := sha256.Sum256(body)
	ct := mime.TypeByExtension(ext)
	switch ext {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".json":
		ct = "application/json"
	case "":
		ct = "application/octet-stream"
	}
	return file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}
