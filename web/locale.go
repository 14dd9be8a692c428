package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// DefaultLocale is the language of last resort, and the one every catalogue falls back to.
const DefaultLocale = "en"

// loadCatalogs reads locales/<lang>.json: flat objects of key to text. A text with format
// arguments (%s, %d) is filled in with fmt.Sprintf by the template function t.
func loadCatalogs(fsys fs.FS) (map[string]map[string]string, error) {
	files, err := fs.Glob(fsys, "locales/*.json")
	if err != nil {
		return nil, err
	}
	catalogs := make(map[string]map[string]string, len(files))
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var c map[string]string
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("web: %s: %w", f, err)
		}
		catalogs[strings.TrimSuffix(path.Base(f), ".json")] = c
	}
	if catalogs[DefaultLocale] == nil {
		return nil, fmt.Errorf("web: no %s catalogue", DefaultLocale)
	}
	return catalogs, nil
}

// Locales lists the languages the pages are translated into, sorted.
func (p *Pages) Locales() []string {
	out := make([]string, 0, len(p.catalogs))
	for l := range p.catalogs {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// match maps a language tag ("fr", "fr-CA", "FR_ca") to a supported locale.
func (p *Pages) match(tag string) (string, bool) {
	tag = strings.ToLower(strings.TrimSpace(tag))
	base, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	if _, ok := p.catalogs[base]; ok && base != "" {
		return base, true
	}
	return "", false
}

// locale is the locale a view renders in: its own when supported, else the default.
func (p *Pages) locale(tag string) string {
	if l, ok := p.match(tag); ok {
		return l
	}
	return DefaultLocale
}

// Locale picks the language of a page: the first supported tag of ui_locales (OIDC: space
// separated, in order of preference), else the supported language the Accept-Language header
// prefers most (q values honoured, q=0 refused), else "en". Region tags count as their
// language: fr-CA is fr.
func (p *Pages) Locale(uiLocales, acceptLanguage string) string {
	for _, tag := range strings.Fields(uiLocales) {
		if l, ok := p.match(tag); ok {
			return l
		}
	}
	type choice struct {
		tag string
		q   float64
	}
	var choices []choice
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" || tag == "*" {
			continue
		}
		q := 1.0
		for _, param := range strings.Split(params, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || strings.TrimSpace(name) != "q" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || v < 0 || v > 1 {
				v = 0 // a malformed weight: ignore the tag
			}
			q = v
		}
		if q > 0 {
			choices = append(choices, choice{tag, q})
		}
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	for _, c := range choices {
		if l, ok := p.match(c.tag); ok {
			return l
		}
	}
	return DefaultLocale
}

// Message is the text of a catalogue key in a locale, for the server's own use (an error
// message in a JSON answer, say). It falls back to English, then to the key itself.
func (p *Pages) Message(locale, key string) string {
	return p.message(p.locale(locale), key)
}

// message looks key up in locale (already supported), falls back to English, then to the key.
// With args, the text is a fmt format.
func (p *Pages) message(locale, key string, args ...any) string {
	text, ok := p.catalogs[locale][key]
	if !ok {
		text, ok = p.catalogs[DefaultLocale][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(text, args...)
	}
	return text
}
