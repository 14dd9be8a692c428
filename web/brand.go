package web

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Brand is the look of the hosted pages.
type Brand struct {
	// Name is the product name in page titles and the header; default "latch". When a logo is
	// set, the header shows the logo with Name as its alternative text.
	Name string
	// LogoURL is optional: an https:// URL or a path under /u/assets/.
	LogoURL string
	// PrimaryColor is the colour of buttons, links and focus rings: #rgb or #rrggbb. The text
	// on buttons is black or white, whichever contrasts more; links and focus rings fall back to
	// the text colour when PrimaryColor is too light to read on white (below 4.5:1).
	PrimaryColor string
	// BackgroundColor is the colour of the page behind the card: #rgb or #rrggbb.
	BackgroundColor string
	// CustomCSSFile is the path of a CSS file, read once by New, served as
	// /u/assets/custom.css and linked from every page after the built-in styles.
	CustomCSSFile string
}

// The default colours. Every text colour here reaches 4.5:1 against the white card (WCAG AA),
// and the border 3:1 (non-text contrast); TestDefaultContrast checks it.
const (
	DefaultName            = "latch"
	DefaultPrimaryColor    = "#1d4ed8"
	DefaultBackgroundColor = "#f3f4f6"

	colorSurface = "#ffffff" // the card
	colorText    = "#111827"
	colorMuted   = "#4b5563"
	colorBorder  = "#6b7280"
	colorError   = "#b91c1c"
	colorSuccess = "#15803d"
)

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// resolve fills in the defaults, checks every field and reads the custom CSS file. The error
// lists every problem found, not only the first.
func (b Brand) resolve() (Brand, []byte, error) {
	var problems []error
	b.Name = strings.TrimSpace(b.Name)
	if b.Name == "" {
		b.Name = DefaultName
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
	b.PrimaryColor = color("PrimaryColor", b.PrimaryColor, DefaultPrimaryColor)
	b.BackgroundColor = color("BackgroundColor", b.BackgroundColor, DefaultBackgroundColor)

	b.LogoURL = strings.TrimSpace(b.LogoURL)
	if b.LogoURL != "" {
		if err := checkLogoURL(b.LogoURL); err != nil {
			problems = append(problems, err)
		}
	}

	var custom []byte
	if b.CustomCSSFile != "" {
		data, err := os.ReadFile(b.CustomCSSFile)
		if err != nil {
			problems = append(problems, fmt.Errorf("CustomCSSFile: %w", err))
		}
		custom = data
	}

	if len(problems) > 0 {
		for i, p := range problems {
			problems[i] = fmt.Errorf("web: brand: %w", p)
		}
		return Brand{}, nil, errors.Join(problems...)
	}
	return b, custom, nil
}

func checkLogoURL(s string) error {
	if strings.HasPrefix(s, "/u/assets/") {
		p := strings.SplitN(s, "?", 2)[0]
		if path.Clean(p) != p || strings.Contains(p, "\\") {
			return fmt.Errorf("LogoURL %q is not a clean path under /u/assets/", s)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("LogoURL %q must be an https:// URL or a path under /u/assets/", s)
	}
	return nil
}

// expandHex turns #rgb into #rrggbb, in lower case.
func expandHex(s string) string {
	s = strings.ToLower(s)
	if len(s) == 4 {
		return string([]byte{'#', s[1], s[1], s[2], s[2], s[3], s[3]})
	}
	return s
}

// luminance is the WCAG relative luminance of a #rrggbb colour.
func luminance(hex string) float64 {
	hex = expandHex(hex)
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

// contrast is the WCAG contrast ratio of two colours, from 1 to 21.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// textOn is black or white, whichever contrasts more with bg. One of them always reaches 4.5:1.
func textOn(bg string) string {
	if contrast(bg, "#ffffff") >= contrast(bg, "#000000") {
		return "#ffffff"
	}
	return "#000000"
}

// brandCSS is /u/assets/brand.css: the colours as CSS custom properties, which latch.css uses.
// Every value comes from a validated #rrggbb colour or a constant, so nothing can escape the
// declarations.
func brandCSS(b Brand) []byte {
	link := b.PrimaryColor
	if contrast(link, colorSurface) < 4.5 {
		link = colorText
	}
	vars := [][2]string{
		{"primary", b.PrimaryColor},
		{"on-primary", textOn(b.PrimaryColor)},
		{"link", link},
		{"focus", link},
		{"background", b.BackgroundColor},
		{"on-background", textOn(b.BackgroundColor)},
		{"surface", colorSurface},
		{"text", colorText},
		{"muted", colorMuted},
		{"border", colorBorder},
		{"error", colorError},
		{"success", colorSuccess},
	}
	var s strings.Builder
	s.WriteString("/* Generated by latch from its brand settings. */\n:root {\n")
	for _, v := range vars {
		fmt.Fprintf(&s, "  --latch-%s: %s;\n", v[0], v[1])
	}
	s.WriteString("}\n")
	return []byte(s.String())
}
