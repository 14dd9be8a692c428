package password

import (
	_ "embed"
	"strings"
	"sync"
)

//go:generate go run gen_dictionary.go

// commonPasswords holds the 10,000 most common passwords, lower case, one a line, most common
// first. It is derived from zxcvbn's password frequency list (github.com/trustelem/zxcvbn
// v1.0.1, data/passwords.txt, a port of Dropbox's zxcvbn); both are MIT-licensed, and their
// notices ship beside it in common_passwords_LICENSE.txt. gen_dictionary.go regenerates it.
//
//go:embed common_passwords.txt
var commonPasswords string

// DictionarySize is the number of entries in the shipped list of common passwords.
const DictionarySize = 10000

// dictionary is built on first use, so that a server whose connections never turn the
// dictionary on does not pay for it at start-up.
var dictionary = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, DictionarySize)
	for _, word := range strings.Split(strings.TrimSpace(commonPasswords), "\n") {
		set[word] = struct{}{}
	}
	return set
})

// InDictionary reports whether pw is one of the common passwords that latch ships (Auth0's
// password_dictionary option, which fails signup with password_dictionary_error). The match is
// on the whole password and ignores case: "Password" is as guessable as "password", and
// attackers' lists try the capitalised forms first.
func InDictionary(pw string) bool {
	_, ok := dictionary()[strings.ToLower(pw)]
	return ok
}
