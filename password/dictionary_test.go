package password

import (
	"strings"
	"testing"
)

func TestInDictionary(t *testing.T) {
	tests := []struct {
		pw   string
		want bool
	}{
		{"password", true},
		{"123456", true},
		{"Password", true}, // case does not matter
		{"PASSWORD", true},
		{"qwerty", true},
		{"iloveyou", true},
		{"letmein", true},
		{"trustno1", true},
		{"", false},
		{" password", false}, // whole-password match only
		{"password ", false},
		{"mypassword!2024x", false},
		{"correct horse battery staple", false},
	}
	for _, tt := range tests {
		if got := InDictionary(tt.pw); got != tt.want {
			t.Errorf("InDictionary(%q) = %v, want %v", tt.pw, got, tt.want)
		}
	}
}

func TestDictionaryList(t *testing.T) {
	words := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(words) != DictionarySize {
		t.Fatalf("common_passwords.txt has %d lines, want %d", len(words), DictionarySize)
	}
	if n := len(dictionary()); n != DictionarySize {
		t.Errorf("dictionary has %d distinct entries, want %d", n, DictionarySize)
	}
	for i, w := range words {
		if w == "" || w != strings.ToLower(w) || strings.TrimSpace(w) != w {
			t.Errorf("line %d: %q is not a lower-case, trimmed, non-empty entry", i+1, w)
		}
		if !InDictionary(w) || !InDictionary(strings.ToUpper(w)) {
			t.Errorf("line %d: %q not found", i+1, w)
		}
	}
}

func BenchmarkInDictionary(b *testing.B) {
	InDictionary("warm")
	for b.Loop() {
		InDictionary("Tr0ub4dor&3")
	}
}
