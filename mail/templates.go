package mail

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"math"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/latchauth/latch/web"
)

//go:embed templates/*.html templates/*.txt
var templateFS embed.FS

//go:embed locales/*.json
var localeFS embed.FS

// TemplateOptions configures NewTemplates.
type TemplateOptions struct {
	// Brand is the hosted pages' brand (web.Brand), so that mail and pages look alike: the name
	// (in subjects, the header and the footer), the logo, the primary colour (buttons) and the
	// background colour. CustomCSSFile is not used: mail clients want inline styles.
	Brand web.Brand
	// BaseURL is latch's public URL (the issuer). It makes a logo under /u/assets/ absolute;
	// without it such a logo is left out of messages and the brand name shown instead.
	BaseURL string
	// TemplatesDir, when set, is a directory whose files replace the embedded templates of the
	// same name (layout.html, partials.txt, verify-email.html, ...), each as a whole, as the
	// hosted pages' TemplatesDir does. A file that matches no template is an error; dot files
	// are ignored.
	TemplatesDir string
}

// User is the recipient as the templates see it.
type User struct {
	Email string
	Name  string // optional; a name of more than maxNameRunes is shown but left out of To
}

// Data is what a message is rendered from.
type Data struct {
	User User
	// Link is the message's link: required for verify-email, reset-password and
	// blocked-account (the unblock link), optional for password-changed (a reset link). Only
	// https:// links are accepted, and http:// to localhost or a loopback address for
	// development; the link is shown as it is, so it must need no escaping in a URL.
	Link string
	// ExpiresIn is how long the link stays valid; zero leaves the sentence out.
	ExpiresIn time.Duration
	// IP is the address that the failed logins came from (blocked-account); optional.
	IP string
}

// View is what a template executes on. Override templates use its fields and the functions
//
//	t KEY [ARGS...]   the catalogue text of KEY in the message's locale (fmt-formatted)
//	duration D        D in words ("24 hours", "24 heures")
type View struct {
	Kind    string
	Locale  string
	Subject string // empty while the subject itself is rendered
	Brand   Brand
	User    User
	Link    string
	// ExpiresIn is Data.ExpiresIn: render it with duration.
	ExpiresIn time.Duration
	IP        string
}

// Brand is web.Brand resolved for mail: defaults filled in, colours as #rrggbb, the logo an
// absolute URL or empty.
type Brand struct {
	Name            string
	LogoURL         string
	PrimaryColor    string
	ButtonTextColor string // black or white, whichever contrasts more with PrimaryColor
	BackgroundColor string
}

// Templates renders latch's messages. It is safe for concurrent use.
type Templates struct {
	brand    Brand
	catalogs map[string]map[string]string // locale → key → text
	sets     map[string]map[string]*kindTemplates
}

// kindTemplates are one kind's templates in one locale.
type kindTemplates struct {
	text *texttemplate.Template // defines "subject"; executes layout.txt
	html *htmltemplate.Template // executes layout.html
}

// Template files: each kind has <kind>.txt (defining "subject" and "content") and <kind>.html
// (defining "content"). The layouts wrap "content"; the partials define shared pieces.
const (
	layoutHTML   = "layout.html"
	partialsHTML = "partials.html"
	layoutText   = "layout.txt"
	partialsText = "partials.txt"
)

// maxNameRunes bounds the display name put in To; a longer name still shows in the greeting.
const maxNameRunes = 64

// NewTemplates reads the catalogues, the templates (embedded, then TemplatesDir's overrides)
// and the brand, parses every template for every locale and renders every kind once, so that
// a broken override fails here rather than when a user waits for a message. An override that
// leaves out the link of a kind that needs one is an error too.
func NewTemplates(o TemplateOptions) (*Templates, error) {
	brand, err := resolveBrand(o.Brand, o.BaseURL)
	if err != nil {
		return nil, err
	}
	catalogs, err := loadCatalogs()
	if err != nil {
		return nil, err
	}
	sources, err := loadTemplates(o.TemplatesDir)
	if err != nil {
		return nil, err
	}
	t := &Templates{brand: brand, catalogs: catalogs, sets: map[string]map[string]*kindTemplates{}}
	for locale := range catalogs {
		t.sets[locale] = map[string]*kindTemplates{}
		for _, kind := range kinds {
			kt, err := t.parse(sources, locale, kind)
			if err != nil {
				return nil, err
			}
			t.sets[locale][kind] = kt
		}
	}

	// Trial renders. html/template also escapes a template at its first execution, and
	// reports there what it cannot escape safely.
	const sampleLink = "https://latch.invalid/trial-render?ticket=0123456789abcdef"
	sample := Data{User: User{Email: "user@latch.invalid", Name: "User"}, Link: sampleLink, ExpiresIn: time.Hour, IP: "192.0.2.1"}
	for locale := range catalogs {
		for _, kind := range kinds {
			m, err := t.Render(kind, locale, sample)
			if err != nil {
				return nil, fmt.Errorf("mail: templates of %s (%s): %w", kind, locale, err)
			}
			if linkRequired(kind) && (!strings.Contains(m.Text, sampleLink) || !strings.Contains(m.HTML, sampleLink)) {
				return nil, fmt.Errorf("mail: templates of %s (%s): the text or the HTML does not show .Link", kind, locale)
			}
		}
	}
	return t, nil
}

type source struct {
	text   string
	origin string
}

func (s source) wrap(err error) error {
	return fmt.Errorf("mail: %s: %w", s.origin, err)
}

// parse builds one kind's text and HTML templates for one locale.
func (t *Templates) parse(sources map[string]source, locale, kind string) (*kindTemplates, error) {
	funcs := t.funcs(locale)
	text := texttemplate.New(layoutText).Funcs(funcs)
	for _, name := range []string{layoutText, partialsText, kind + ".txt"} {
		tmpl := text
		if name != layoutText {
			tmpl = text.New(name)
		}
		if _, err := tmpl.Parse(sources[name].text); err != nil {
			return nil, sources[name].wrap(err)
		}
	}
	if text.Lookup("subject") == nil {
		return nil, sources[kind+".txt"].wrap(errors.New(`no {{define "subject"}}`))
	}
	html := htmltemplate.New(layoutHTML).Funcs(funcs)
	for _, name := range []string{layoutHTML, partialsHTML, kind + ".html"} {
		tmpl := html
		if name != layoutHTML {
			tmpl = html.New(name)
		}
		if _, err := tmpl.Parse(sources[name].text); err != nil {
			return nil, sources[name].wrap(err)
		}
	}
	return &kindTemplates{text: text, html: html}, nil
}

// funcs are the template functions, bound to one locale (see View).
func (t *Templates) funcs(locale string) map[string]any {
	return map[string]any{
		"t":        func(key string, args ...any) string { return t.message(locale, key, args...) },
		"duration": func(d time.Duration) string { return t.duration(locale, d) },
	}
}

// Render renders a message of kind (one of Kinds()) for d.User in locale. A locale latch has no
// catalogue for renders in English; a region tag counts as its language ("fr-CA" is "fr"), as
// on the hosted pages, so the locale the pages chose (web.Pages.Locale) fits here too.
//
// The Message is ready for a Sender: To is the user, with the name when it is short enough;
// Subject, Text and HTML are rendered; it has passed Validate. A name or email with a control
// character, a link that is not https (or http to localhost), or a malformed IP is an error
// wrapping ErrInvalidMessage.
func (t *Templates) Render(kind, locale string, d Data) (Message, error) {
	locale = t.locale(locale)
	kt, ok := t.sets[locale][kind]
	if !ok {
		return Message{}, fmt.Errorf("%w: unknown kind %q (known: %s)", ErrInvalidMessage, kind, strings.Join(kinds[:], ", "))
	}
	to, err := recipientOf(d.User)
	if err != nil {
		return Message{}, err
	}
	if d.Link != "" || linkRequired(kind) {
		if err := checkLink(d.Link); err != nil {
			return Message{}, err
		}
	}
	if d.IP != "" {
		if _, err := netip.ParseAddr(d.IP); err != nil {
			return Message{}, fmt.Errorf("%w: IP %q is not an IP address", ErrInvalidMessage, d.IP)
		}
	}
	if d.ExpiresIn < 0 {
		return Message{}, fmt.Errorf("%w: negative ExpiresIn", ErrInvalidMessage)
	}

	v := View{Kind: kind, Locale: locale, Brand: t.brand, User: d.User, Link: d.Link, ExpiresIn: d.ExpiresIn, IP: d.IP}
	var subject bytes.Buffer
	if err := kt.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, fmt.Errorf("mail: %s subject: %w", kind, err)
	}
	// A subject is one line: template formatting may add line breaks and runs of spaces.
	v.Subject = strings.Join(strings.Fields(subject.String()), " ")
	var text, html bytes.Buffer
	if err := kt.text.ExecuteTemplate(&text, layoutText, v); err != nil {
		return Message{}, fmt.Errorf("mail: %s text: %w", kind, err)
	}
	if err := kt.html.ExecuteTemplate(&html, layoutHTML, v); err != nil {
		return Message{}, fmt.Errorf("mail: %s HTML: %w", kind, err)
	}
	m := Message{To: to, Subject: v.Subject, Text: tidyText(text.String()), HTML: html.String(), Kind: kind}
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// recipientOf formats the user as To: "Name <email>", the name RFC 2047-encoded when it is
// not ASCII (net/mail's Address.String uses mime.QEncoding, or BEncoding when the name holds
// characters an encoded word may not).
func recipientOf(u User) (string, error) {
	if hasControl(u.Name) || !utf8.ValidString(u.Name) {
		return "", fmt.Errorf("%w: the user's name contains a control character", ErrInvalidMessage)
	}
	if hasControl(u.Email) {
		return "", fmt.Errorf("%w: the user's email contains a control character", ErrInvalidMessage)
	}
	a, err := ParseAddress(u.Email)
	if err != nil {
		return "", fmt.Errorf("the user's email: %w", err)
	}
	if a.Name != "" || a.Address != u.Email {
		return "", fmt.Errorf("%w: the user's email is not a bare address", ErrInvalidMessage)
	}
	name := strings.TrimSpace(u.Name)
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = ""
	}
	return (&mail.Address{Name: name, Address: u.Email}).String(), nil
}

// linkRequired reports whether a kind's message is about a link.
func linkRequired(kind string) bool {
	return kind != KindPasswordChanged
}

// linkChars are the characters a link may hold: those html/template leaves as they are in an
// href (RFC 3986's unreserved and reserved characters and '%', less ' ( and ), which it
// escapes), so that the link reads the same in the text and in the HTML.
var linkChars = regexp.MustCompile(`^[A-Za-z0-9\-._~!#$&*+,/:;=?@\[\]%]+$`)

const maxLinkBytes = 2048

// checkLink accepts an absolute https:// URL, or http:// to localhost or a loopback address
// (development), without user information.
func checkLink(link string) error {
	if link == "" {
		return fmt.Errorf("%w: no link", ErrInvalidMessage)
	}
	if len(link) > maxLinkBytes || !linkChars.MatchString(link) {
		return fmt.Errorf("%w: the link holds characters that need escaping, or is too long", ErrInvalidMessage)
	}
	u, err := url.Parse(link)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("%w: the link is not an absolute URL with a host", ErrInvalidMessage)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
	default:
		return fmt.Errorf("%w: the link must be https:// (or http:// to localhost)", ErrInvalidMessage)
	}
	return nil
}

// tidyText trims the text body: no white space at line ends, at most one blank line in a row,
// none at the start or the end, so templates may be laid out for reading.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := true // at the start, a blank line is dropped
	for _, l := range lines {
		if l != "-- " { // the signature separator keeps its space
			l = strings.TrimRight(l, " \t")
		}
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}

// ---------------------------------------------------------------------------------------
// Catalogues and locales

func loadCatalogs() (map[string]map[string]string, error) {
	files, err := fs.Glob(localeFS, "locales/*.json")
	if err != nil {
		return nil, err
	}
	catalogs := map[string]map[string]string{}
	for _, f := range files {
		data, err := fs.ReadFile(localeFS, f)
		if err != nil {
			return nil, err
		}
		var c map[string]string
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("mail: %s: %w", f, err)
		}
		catalogs[strings.TrimSuffix(path.Base(f), ".json")] = c
	}
	if catalogs[web.DefaultLocale] == nil {
		return nil, fmt.Errorf("mail: no %s catalogue", web.DefaultLocale)
	}
	return catalogs, nil
}

// Locales lists the languages messages are written in, sorted.
func (t *Templates) Locales() []string {
	out := make([]string, 0, len(t.catalogs))
	for l := range t.catalogs {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// locale maps a tag ("fr", "fr-CA", "FR_ca") to a supported locale, else English: the
// pages' rule.
func (t *Templates) locale(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	base, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	if _, ok := t.catalogs[base]; ok && base != "" {
		return base
	}
	return web.DefaultLocale
}

// message is the text of key in locale, else in English, else the key; with args, the text
// is a fmt format.
func (t *Templates) message(locale, key string, args ...any) string {
	text, ok := t.catalogs[locale][key]
	if !ok {
		text, ok = t.catalogs[web.DefaultLocale][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(text, args...)
	}
	return text
}

// duration says d in words, in the largest unit that counts it whole (days, hours, else
// minutes rounded up).
func (t *Templates) duration(locale string, d time.Duration) string {
	unit, n := "minutes", int64(math.Ceil(d.Minutes()))
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		unit, n = "days", int64(d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hours", int64(d/time.Hour)
	}
	if n == 1 {
		return t.message(locale, "duration."+unit+".one")
	}
	return t.message(locale, "duration."+unit+".other", n)
}

// ---------------------------------------------------------------------------------------
// Template sources

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
		return nil, fmt.Errorf("mail: TemplatesDir: %w", err)
	}
	var problems []error
	for _, e := range overrides {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if _, ok := sources[name]; !ok || e.IsDir() {
			problems = append(problems, fmt.Errorf("mail: TemplatesDir: %q is not the name of a template (known: %s)",
				name, strings.Join(sortedKeys(sources), ", ")))
			continue
		}
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, fmt.Errorf("mail: TemplatesDir: %w", err))
			continue
		}
		sources[name] = source{string(data), "template override " + file}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return sources, nil
}

func sortedKeys(m map[string]source) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------------------
// Brand

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// resolveBrand checks b as the pages do and fits it to mail: the logo must be absolute.
// The error lists every problem.
func resolveBrand(b web.Brand, baseURL string) (Brand, error) {
	var problems []error
	out := Brand{Name: strings.TrimSpace(b.Name)}
	if out.Name == "" {
		out.Name = web.DefaultName
	}
	if hasControl(out.Name) || !utf8.ValidString(out.Name) || utf8.RuneCountInString(out.Name) > 100 {
		problems = append(problems, fmt.Errorf("name %q: want at most 100 characters, no control character", out.Name))
	}
	color := func(field, value, def string) string {
		value = strings.TrimSpace(value)
		if value == "" {
			return def
		}
		if !hexColor.MatchString(value) {
			problems = append(problems, fmt.Errorf("%s %q is not a colour of the form #rgb or #rrggbb", field, value))
			return def
		}
		return expandHex(value)
	}
	out.PrimaryColor = color("PrimaryColor", b.PrimaryColor, web.DefaultPrimaryColor)
	out.BackgroundColor = color("BackgroundColor", b.BackgroundColor, web.DefaultBackgroundColor)
	out.ButtonTextColor = textOn(out.PrimaryColor)

	if logo := strings.TrimSpace(b.LogoURL); logo != "" {
		switch u, err := url.Parse(logo); {
		case strings.HasPrefix(logo, "/u/assets/"):
			if baseURL != "" {
				base, err := url.Parse(baseURL)
				if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
					problems = append(problems, fmt.Errorf("BaseURL %q: want an absolute http(s) URL", baseURL))
				} else {
					out.LogoURL = strings.TrimSuffix(base.Scheme+"://"+base.Host+base.Path, "/") + logo
				}
			}
		case err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil:
			out.LogoURL = logo
		default:
			problems = append(problems, fmt.Errorf("LogoURL %q must be an https:// URL or a path under /u/assets/", logo))
		}
	}
	if len(problems) > 0 {
		for i, p := range problems {
			problems[i] = fmt.Errorf("mail: brand: %w", p)
		}
		return Brand{}, errors.Join(problems...)
	}
	return out, nil
}

func expandHex(s string) string {
	s = strings.ToLower(s)
	if len(s) == 4 {
		return string([]byte{'#', s[1], s[1], s[2], s[2], s[3], s[3]})
	}
	return s
}

// textOn is black or white, whichever contrasts more with the #rrggbb colour bg (WCAG).
func textOn(bg string) string {
	l := luminance(bg)
	if (1.05)/(l+0.05) >= (l+0.05)/0.05 {
		return "#ffffff"
	}
	return "#000000"
}

func luminance(hex string) float64 {
	var rgb [3]float64
	for i := range rgb {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}
