// Package web renders latch's hosted pages — login, signup, errors, logout, and the form_post
// and web_message responses of the authorization endpoint — and serves their static assets.
// It knows nothing of HTTP routing: the server's handlers build a view, call a method of Pages
// to write the HTML, and mount Pages.Assets under /u/assets/.
//
// Everything is compiled into the binary (embed): the templates in templates/, the styles and
// scripts in static/, the message catalogues in locales/. A deployment may replace any template
// wholesale (Options.TemplatesDir) and restyle the pages (Brand).
//
// The pages carry no inline script, no inline style and no event-handler attribute: every
// script and style sheet is a file under /u/assets/, so the server can send
//
//	Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self';
//	  img-src 'self' https: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'
//
// without 'unsafe-inline' and without nonces (the form_post page needs form-action to allow the
// client's redirect_uri, and the web_message page must be frameable by the client's origin).
// The only <script> element without src is the web_message page's JSON data block
// (type="application/json"), which browsers never execute.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed locales/*.json
var localeFS embed.FS

// Options configures New.
type Options struct {
	Brand Brand
	// TemplatesDir, when set, is a directory whose files replace the embedded templates of the
	// same name (templates/*.html), each as a whole. A file that matches no embedded template
	// is an error, so that a typo does not go unnoticed; dot files are ignored.
	TemplatesDir string
}

// The pages, by the name of their template file (without .html). Each is rendered by
// executing layout.html with partials.html and the page's own file, which defines the blocks
// "title", "content" and, optionally, "head".
const (
	pageLogin           = "login"
	pageSignup          = "signup"
	pageTooManyAttempts = "too_many_attempts"
	pageError           = "error"
	pageLoggedOut       = "logged_out"
	pageLogoutConfirm   = "logout_confirm"
	pageFormPost        = "form_post"
	pageWebMessage      = "web_message"

	layoutFile   = "layout.html"
	partialsFile = "partials.html"
)

var pageNames = []string{
	pageLogin, pageSignup, pageTooManyAttempts, pageError,
	pageLoggedOut, pageLogoutConfirm, pageFormPost, pageWebMessage,
	pageForgotPassword, pageResetPassword, pageDone,
}

// Pages renders the hosted pages. It is safe for concurrent use.
type Pages struct {
	brand    Brand
	catalogs map[string]map[string]string // locale → key → text
	assets   map[string]*asset            // name under /u/assets/ → file
	pages    map[string]map[string]*template.Template
}

// New reads the catalogues, the templates (embedded, and the overrides of TemplatesDir), the
// brand and the assets, parses every template for every locale and renders each page once, so
// that a broken template or override fails here rather than at a user's login.
func New(o Options) (*Pages, error) {
	brand, customCSS, err := o.Brand.resolve()
	if err != nil {
		return nil, err
	}
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		return nil, err
	}
	sources, err := loadTemplates(o.TemplatesDir)
	if err != nil {
		return nil, err
	}
	assets, err := loadAssets(brand, customCSS)
	if err != nil {
		return nil, err
	}
	p := &Pages{brand: brand, catalogs: catalogs, assets: assets, pages: map[string]map[string]*template.Template{}}

	for locale := range catalogs {
		base := template.New(layoutFile).Funcs(p.funcs(locale))
		if _, err := base.Parse(sources[layoutFile].text); err != nil {
			return nil, sources[layoutFile].wrap(err)
		}
		if _, err := base.New(partialsFile).Parse(sources[partialsFile].text); err != nil {
			return nil, sources[partialsFile].wrap(err)
		}
		p.pages[locale] = map[string]*template.Template{}
		for _, name := range pageNames {
			set, err := base.Clone()
			if err != nil {
				return nil, err
			}
			src := sources[name+".html"]
			if _, err := set.New(name + ".html").Parse(src.text); err != nil {
				return nil, src.wrap(err)
			}
			p.pages[locale][name] = set
		}
	}

	// Render every page once: html/template escapes a template at its first execution, and
	// reports there what it cannot escape safely.
	samples := map[string]any{
		pageLogin:           LoginView{},
		pageSignup:          SignupView{},
		pageTooManyAttempts: TooManyAttemptsView{},
		pageError:           ErrorView{},
		pageLoggedOut:       LoggedOutView{},
		pageLogoutConfirm:   LogoutConfirmView{},
		pageFormPost:        FormPostView{},
		pageWebMessage:      WebMessageView{},
		pageForgotPassword:  ForgotPasswordView{},
		pageResetPassword:   ResetPasswordView{},
		pageDone:            DoneView{},
	}
	for locale := range catalogs {
		for _, name := range pageNames {
			if err := p.pages[locale][name].ExecuteTemplate(io.Discard, layoutFile, samples[name]); err != nil {
				return nil, sources[name+".html"].wrap(err)
			}
		}
	}
	return p, nil
}

type source struct {
	text   string
	origin string // where the text comes from, for error messages
}

func (s source) wrap(err error) error {
	return fmt.Errorf("web: %s: %w", s.origin, err)
}

// loadTemplates reads the embedded templates, then the overrides.
func loadTemplates(dir string) (map[string]source, error) {
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	sources := map[string]source{}
	for _, e := range entries {
		data, err := fs.ReadFile(templateFS, "templates/"+e.Name())
		if err != nil {
			return nil, err
		}
		sources[e.Name()] = source{string(data), "embedded template " + e.Name()}
	}
	if dir == "" {
		return sources, nil
	}
	overrides, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("web: TemplatesDir: %w", err)
	}
	var problems []error
	for _, e := range overrides {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if _, ok := sources[name]; !ok || e.IsDir() {
			problems = append(problems, fmt.Errorf("web: TemplatesDir: %q is not the name of a template (known: %s)",
				name, strings.Join(templateNames(sources), ", ")))
			continue
		}
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, fmt.Errorf("web: TemplatesDir: %w", err))
			continue
		}
		sources[name] = source{string(data), "template override " + file}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return sources, nil
}

func templateNames(sources map[string]source) []string {
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// funcs are the template functions, bound to one locale.
//
//	t KEY [ARGS...]      the catalogue text of KEY (fmt-formatted with ARGS); a text that is no
//	                     key comes back as it is, so t also shows already-localized messages
//	locale               the page's locale, for <html lang>
//	brand                the Brand
//	asset NAME           the versioned URL of an asset: /u/assets/NAME?v=HASH
//	customCSS            whether custom.css is configured
//	passwordPolicy PRESET MINLENGTH   the password rules to show on the signup page
//	ids ID...            the non-empty IDs joined by spaces (for aria-describedby)
func (p *Pages) funcs(locale string) template.FuncMap {
	return template.FuncMap{
		"t":      func(key string, args ...any) string { return p.message(locale, key, args...) },
		"locale": func() string { return locale },
		"brand":  func() Brand { return p.brand },
		"asset": func(name string) (string, error) {
			a, ok := p.assets[name]
			if !ok {
				return "", fmt.Errorf("no asset %q", name)
			}
			return "/u/assets/" + name + "?v=" + a.version, nil
		},
		"customCSS": func() bool { return p.assets["custom.css"] != nil },
		"passwordPolicy": func(preset string, minLength int) passwordPolicy {
			return p.passwordPolicy(locale, preset, minLength)
		},
		"ids": func(ids ...string) string {
			var out []string
			for _, id := range ids {
				if id != "" {
					out = append(out, id)
				}
			}
			return strings.Join(out, " ")
		},
	}
}

// passwordPolicy is the signup page's list of password rules. Preset and MinLength are the
// effective ones (as the server applies them) and go to the page's script as data- attributes.
type passwordPolicy struct {
	Preset    string
	MinLength int
	Rules     []policyRule
}

type policyRule struct {
	Code  string // Auth0's rule code, which policy.js evaluates
	Text  string
	Items []policyRule
}

// policyKeys are the catalogue keys of the rule codes of package password.
var policyKeys = map[string]string{
	password.CodeNonEmpty:          "policy.non_empty",
	password.CodeLengthAtLeast:     "policy.length_at_least",
	password.CodeShouldContain:     "policy.should_contain",
	password.CodeContainsAtLeast:   "policy.contains_at_least",
	password.CodeIdenticalChars:    "policy.identical_chars",
	password.CodeLowerCase:         "policy.lower_case",
	password.CodeUpperCase:         "policy.upper_case",
	password.CodeNumbers:           "policy.numbers",
	password.CodeSpecialCharacters: "policy.special_characters",
}

// passwordPolicy lists the rules exactly as package password would check them, so the page
// shows what the server will demand.
func (p *Pages) passwordPolicy(locale, preset string, minLength int) passwordPolicy {
	pol := password.PolicyFor(storage.ConnectionOptions{PasswordPolicy: preset, MinLength: minLength})
	var convert func(rules []password.Rule) []policyRule
	convert = func(rules []password.Rule) []policyRule {
		var out []policyRule
		for _, r := range rules {
			text := r.Text()
			if key, ok := policyKeys[r.Code]; ok {
				text = p.message(locale, key, r.Format...)
			}
			out = append(out, policyRule{Code: r.Code, Text: text, Items: convert(r.Items)})
		}
		return out
	}
	return passwordPolicy{Preset: pol.Preset, MinLength: pol.MinLength, Rules: convert(pol.Check("").Rules)}
}

// render executes a page into a buffer, so that a failing page writes nothing.
func (p *Pages) render(w io.Writer, page, locale string, view any) error {
	var buf bytes.Buffer
	if err := p.pages[p.locale(locale)][page].ExecuteTemplate(&buf, layoutFile, view); err != nil {
		return fmt.Errorf("web: %s: %w", page, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Login writes the login page.
func (p *Pages) Login(w io.Writer, v LoginView) error {
	return p.render(w, pageLogin, v.Locale, v)
}

// Signup writes the signup page.
func (p *Pages) Signup(w io.Writer, v SignupView) error {
	return p.render(w, pageSignup, v.Locale, v)
}

// TooManyAttempts writes the page shown when brute-force protection blocks a login.
func (p *Pages) TooManyAttempts(w io.Writer, v TooManyAttemptsView) error {
	return p.render(w, pageTooManyAttempts, v.Locale, v)
}

// Error writes the generic error page.
func (p *Pages) Error(w io.Writer, v ErrorView) error {
	return p.render(w, pageError, v.Locale, v)
}

// LoggedOut writes the "you are logged out" page.
func (p *Pages) LoggedOut(w io.Writer, v LoggedOutView) error {
	return p.render(w, pageLoggedOut, v.Locale, v)
}

// LogoutConfirm writes the "log out of <app>?" page, whose form posts the confirmation.
func (p *Pages) LogoutConfirm(w io.Writer, v LogoutConfirmView) error {
	return p.render(w, pageLogoutConfirm, v.Locale, v)
}

// FormPost writes the form_post response: a form of hidden fields that a script submits to
// Action as soon as the page loads, with a visible Continue button when scripts are off.
func (p *Pages) FormPost(w io.Writer, v FormPostView) error {
	u, err := url.Parse(v.Action)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("web: form_post: action %q is not an absolute http(s) URL", v.Action)
	}
	return p.render(w, pageFormPost, v.Locale, v)
}

// WebMessage writes the web_message response: a page whose script posts
// {type: "authorization_response", response: v.Response} to window.opener || window.parent,
// for v.TargetOrigin only.
func (p *Pages) WebMessage(w io.Writer, v WebMessageView) error {
	if !isOrigin(v.TargetOrigin) {
		return fmt.Errorf("web: web_message: target origin %q is not an http(s) origin", v.TargetOrigin)
	}
	return p.render(w, pageWebMessage, v.Locale, v)
}

// isOrigin accepts scheme://host[:port] with scheme http or https, and nothing more (never "*").
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" &&
		!strings.HasSuffix(s, "#") && u.Scheme+"://"+u.Host == s
}

// asset is one file under /u/assets/.
type asset struct {
	body        []byte
	contentType string
	version     string // a hash of body: the ?v= of the URLs the pages use, and the ETag
}

var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	ct, ok := contentTypes[strings.ToLower(filepath.Ext(name))]
	if !ok {
		ct = "application/octet-stream"
	}
	return &asset{body: body, contentType: ct, version: hex.EncodeToString(sum[:6])}
}

func loadAssets(brand Brand, customCSS []byte) (map[string]*asset, error) {
	assets := map[string]*asset{}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(staticFS, name)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(name, "static/")
		assets[rel] = newAsset(rel, body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	assets["brand.css"] = newAsset("brand.css", brandCSS(brand))
	if brand.CustomCSSFile != "" {
		assets["custom.css"] = newAsset("custom.css", customCSS)
	}
	return assets, nil
}
