//go:build ignore

// gen_dictionary writes common_passwords.txt: the 10,000 most common passwords of zxcvbn's
// password frequency list (data/passwords.txt of github.com/trustelem/zxcvbn v1.0.1, a Go port
// of Dropbox's zxcvbn; both MIT, notices in common_passwords_LICENSE.txt). The list is sorted
// by frequency, most common first; we keep the order, lower-case every entry and drop
// duplicates. Ten thousand matches the size of Auth0's legacy password dictionary.
//
// Run with `go generate ./password/`. It reads the module from the module cache through
// `go mod download`, so latch's go.mod does not need to require zxcvbn.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	source  = "github.com/trustelem/zxcvbn@v1.0.1"
	entries = 10000
	out     = "common_passwords.txt"
)

func main() {
	raw, err := exec.Command("go", "mod", "download", "-json", source).Output()
	if err != nil {
		log.Fatalf("go mod download %s: %v", source, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(raw, &mod); err != nil || mod.Dir == "" {
		log.Fatalf("go mod download %s: no module directory (%v)", source, err)
	}
	in, err := os.Open(filepath.Join(mod.Dir, "data", "passwords.txt"))
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()

	seen := make(map[string]bool, entries)
	var list []string
	lines := bufio.NewScanner(in)
	for lines.Scan() && len(list) < entries {
		// Each line is "password<spaces>count".
		fields := strings.Fields(lines.Text())
		if len(fields) == 0 {
			continue
		}
		word := strings.ToLower(fields[0])
		if !seen[word] {
			seen[word] = true
			list = append(list, word)
		}
	}
	if err := lines.Err(); err != nil {
		log.Fatal(err)
	}
	if len(list) < entries {
		log.Fatalf("%s has only %d passwords, want %d", source, len(list), entries)
	}
	if err := os.WriteFile(out, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d passwords to %s\n", len(list), out)
}
