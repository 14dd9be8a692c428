package mail

import (
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"testing"
)

// Every catalogue has the same keys, and every key a template names exists.
func TestCataloguesComplete(t *testing.T) {
	catalogs, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	if len(catalogs) < 2 {
		t.Fatalf("catalogues %v, want en and fr at least", slices.Collect(maps.Keys(catalogs)))
	}
	en := catalogs["en"]
	for locale, c := range catalogs {
		for key := range en {
			if _, ok := c[key]; !ok {
				t.Errorf("%s lacks %q", locale, key)
			}
		}
		for key := range c {
			if _, ok := en[key]; !ok {
				t.Errorf("%s has %q, which en lacks", locale, key)
			}
		}
	}

	used := regexp.MustCompile(`\bt "([^"]+)"`)
	files, err := fs.Glob(templateFS, "templates/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	seen := 0
	for _, f := range files {
		data, err := fs.ReadFile(templateFS, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(data), -1) {
			seen++
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s uses %q, which is in no catalogue", f, m[1])
			}
		}
	}
	if seen < 20 {
		t.Errorf("found only %d catalogue keys in the templates: is the pattern broken?", seen)
	}
	// The button label is looked up by the kind's name.
	for _, kind := range kinds {
		if _, ok := en[kind+".button"]; !ok {
			t.Errorf("no %s.button", kind)
		}
	}
	for _, unit := range []string{"days", "hours", "minutes"} {
		for _, form := range []string{"one", "other"} {
			if _, ok := en["duration."+unit+"."+form]; !ok {
				t.Errorf("no duration.%s.%s", unit, form)
			}
		}
	}
}
