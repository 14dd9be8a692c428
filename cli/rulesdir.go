package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The rules directory is auth0-deploy-cli's "directory" format, so that a directory pulled
// from latch can be deployed to Auth0 with a0deploy and the other way round:
//
//	DIR/rules/NAME.js     the script, byte for byte
//	DIR/rules/NAME.json   {"name", "script": "./NAME.js", "order", "enabled", "stage"}
//
// NAME is the rule's name made safe as a file name the way deploy-cli makes it (its
// sanitize-filename with "-" as the replacement). Rules are matched by the name inside the
// JSON file, never by the file name.

// rulesSubdir is the folder of rules inside a deploy-cli directory.
const rulesSubdir = "rules"

// maxScriptFileBytes bounds a script read from disk (latch refuses more than 100 KiB anyway).
const maxScriptFileBytes = 1 << 20

// ruleFile is a rule as the directory describes it. Order and Enabled are nil when the file
// leaves them out: no opinion (a created rule then goes last, enabled).
type ruleFile struct {
	Name    string
	Script  string
	Order   *int
	Enabled *bool
	Stage   string
	// JSONPath and ScriptPath are where it was read from.
	JSONPath, ScriptPath string
}

// ruleMeta is the JSON file, in the order its keys are written.
type ruleMeta struct {
	Name    string `json:"name"`
	Script  string `json:"script"`
	Order   *int   `json:"order,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"`
	Stage   string `json:"stage,omitempty"`
}

var (
	illegalFileChars  = regexp.MustCompile(`[/?<>\\:*|"]`)
	controlFileChars  = regexp.MustCompile("[\u0000-\u001f\u0080-\u009f]")
	onlyDots          = regexp.MustCompile(`^\.+$`)
	windowsReserved   = regexp.MustCompile(`(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$`)
	windowsTrailing   = regexp.MustCompile(`[. ]+$`)
	maxFileNameBytes  = 255 - len(".json") // NAME.json must fit a file name
	errNoRulesDir     = errors.New("no rules directory")
	errDuplicateNames = errors.New("two rule files have the same name")
)

// sanitizeOnce is one pass of sanitize-filename: characters no file system takes, control
// characters, names made of dots, Windows' reserved device names and trailing dots and
// spaces are replaced by repl.
func sanitizeOnce(s, repl string) string {
	s = illegalFileChars.ReplaceAllLiteralString(s, repl)
	s = controlFileChars.ReplaceAllLiteralString(s, repl)
	s = onlyDots.ReplaceAllLiteralString(s, repl)
	s = windowsReserved.ReplaceAllLiteralString(s, repl)
	s = windowsTrailing.ReplaceAllLiteralString(s, repl)
	return truncateUTF8(s, maxFileNameBytes)
}

// ruleFileBase is the file name (without extension) of a rule: deploy-cli's
// sanitize(name, {replacement: "-"}), which runs a second pass with "" in case the
// replacement itself made a bad name.
func ruleFileBase(name string) string {
	return sanitizeOnce(sanitizeOnce(name, "-"), "")
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// writeRulesDir writes rules into dir/rules. Nothing is written when two rules would share a
// file (names that differ only in characters a file name cannot hold, or only in case, which
// some file systems ignore).
func writeRulesDir(dir string, rules []remoteRule) (written []string, err error) {
	folder := filepath.Join(dir, rulesSubdir)
	seen := map[string]string{}
	for _, r := range rules {
		base := ruleFileBase(r.Name)
		if base == "" {
			return nil, fmt.Errorf("rule %q has no usable file name", r.Name)
		}
		key := strings.ToLower(base)
		if other, ok := seen[key]; ok {
			return nil, fmt.Errorf("rules %q and %q would both be written to %s.js: rename one", other, r.Name, base)
		}
		seen[key] = r.Name
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return nil, err
	}
	for _, r := range rules {
		base := ruleFileBase(r.Name)
		js := filepath.Join(folder, base+".js")
		if err := os.WriteFile(js, []byte(r.Script), 0o644); err != nil {
			return written, err
		}
		order, enabled := r.Order, r.Enabled
		meta, err := marshalRuleMeta(ruleMeta{Name: r.Name, Script: "./" + base + ".js", Order: &order, Enabled: &enabled, Stage: r.Stage})
		if err != nil {
			return written, err
		}
		jsonPath := filepath.Join(folder, base+".json")
		if err := os.WriteFile(jsonPath, meta, 0o644); err != nil {
			return written, err
		}
		written = append(written, jsonPath, js)
	}
	return written, nil
}

// marshalRuleMeta writes the JSON as deploy-cli does: two-space indent, a final newline, and
// <, > and & as themselves.
func marshalRuleMeta(m ruleMeta) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readRulesDir reads every NAME.json of dir/rules and the script each names. A script path
// is relative to the rules folder and must stay inside dir.
func readRulesDir(dir string) ([]ruleFile, error) {
	folder := filepath.Join(dir, rulesSubdir)
	fi, err := os.Stat(folder)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory (the layout is DIR/rules/NAME.json + NAME.js; create it empty to remove every rule)", errNoRulesDir, folder)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, err
	}
	var out []ruleFile
	byName := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		path := filepath.Join(folder, e.Name())
		rf, err := readRuleFile(root, folder, path)
		if err != nil {
			return nil, err
		}
		if other, ok := byName[rf.Name]; ok {
			return nil, fmt.Errorf("%w: %s and %s both describe rule %q", errDuplicateNames, other, path, rf.Name)
		}
		byName[rf.Name] = path
		out = append(out, rf)
	}
	slices.SortFunc(out, func(a, b ruleFile) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func readRuleFile(root, folder, path string) (ruleFile, error) {
	data, err := readFileLimited(path, 1<<20)
	if err != nil {
		return ruleFile{}, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return ruleFile{}, fmt.Errorf("%s: %w", path, err)
	}
	rf := ruleFile{JSONPath: path}
	var scriptRef string
	fields := []struct {
		key string
		dst any
	}{{"name", &rf.Name}, {"script", &scriptRef}, {"order", &rf.Order}, {"enabled", &rf.Enabled}, {"stage", &rf.Stage}}
	for _, f := range fields {
		if v, ok := raw[f.key]; ok {
			if err := json.Unmarshal(v, f.dst); err != nil {
				return ruleFile{}, fmt.Errorf("%s: %q: %w", path, f.key, err)
			}
		}
	}
	if rf.Name == "" {
		return ruleFile{}, fmt.Errorf("%s: no \"name\"", path)
	}
	if scriptRef == "" {
		scriptRef = "./" + strings.TrimSuffix(filepath.Base(path), ".json") + ".js"
	}
	scriptPath := filepath.Join(folder, filepath.FromSlash(strings.ReplaceAll(scriptRef, `\`, "/")))
	abs, err := filepath.Abs(scriptPath)
	if err != nil {
		return ruleFile{}, err
	}
	if !strings.HasPrefix(abs, root+string(filepath.Separator)) {
		return ruleFile{}, fmt.Errorf("%s: script %q is outside %s", path, scriptRef, root)
	}
	script, err := readFileLimited(abs, maxScriptFileBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ruleFile{}, fmt.Errorf("%s: its script %s does not exist", path, scriptPath)
		}
		return ruleFile{}, err
	}
	if !utf8.Valid(script) {
		return ruleFile{}, fmt.Errorf("%s is not UTF-8 text", scriptPath)
	}
	rf.Script, rf.ScriptPath = string(script), scriptPath
	return rf, nil
}

// staleRuleFiles lists the JSON files of dir/rules that describe a rule not among names,
// and the script file each refers to (only when inside the rules folder). Files that do not
// read as a rule are left alone.
func staleRuleFiles(dir string, names map[string]bool) (stale []string, err error) {
	folder := filepath.Join(dir, rulesSubdir)
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		path := filepath.Join(folder, e.Name())
		data, err := readFileLimited(path, 1<<20)
		if err != nil {
			continue
		}
		var m ruleMeta
		if json.Unmarshal(data, &m) != nil || m.Name == "" || names[m.Name] {
			continue
		}
		stale = append(stale, path)
		if m.Script == "" {
			m.Script = "./" + strings.TrimSuffix(e.Name(), ".json") + ".js"
		}
		script := filepath.Join(folder, filepath.FromSlash(strings.ReplaceAll(m.Script, `\`, "/")))
		if filepath.Dir(script) == folder {
			if _, err := os.Stat(script); err == nil {
				stale = append(stale, script)
			}
		}
	}
	return stale, nil
}
