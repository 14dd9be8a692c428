package latch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The dependency rules of ARCHITECTURE.md ("Which way dependencies point"), kept by a test
// rather than by hope. The test lists every package of the module with `go list` and checks the
// imports of each, its tests' included.

const module = "github.com/latchauth/latch"

// pkgImports is what `go list -json` says about one package.
type pkgImports struct {
	ImportPath   string
	Imports      []string // of the package's own files
	TestImports  []string // of its _test.go files in the same package
	XTestImports []string // of its _test.go files in package <name>_test
	Deps         []string // everything the package (not its tests) depends on, transitively
}

// within reports whether path is pkg or a package below it.
func within(path, pkg string) bool {
	return path == pkg || strings.HasPrefix(path, pkg+"/")
}

var storageBackends = []string{
	module + "/storage/sqlite",
	module + "/storage/mongo",
	module + "/storage/redis",
	module + "/storage/inproc",
}

// archViolations returns one line for each dependency of p that breaks a rule.
func archViolations(p pkgImports) []string {
	var found []string
	flag := func(imp, why string) {
		found = append(found, p.ImportPath+" imports "+imp+": "+why)
	}
	direct := slices.Concat(p.Imports, p.TestImports, p.XTestImports)
	slices.Sort(direct)
	direct = slices.Compact(direct)

	for _, imp := range direct {
		// 1. HTTP lives in server: only server and its subpackages import echo.
		if within(imp, "github.com/labstack/echo") && !within(p.ImportPath, module+"/server") {
			flag(imp, "only "+module+"/server/... may import echo")
		}
		// 2. Concrete storage backends are chosen in cmd/ only.
		for _, backend := range storageBackends {
			if !within(imp, backend) {
				continue
			}
			switch {
			case within(p.ImportPath, module+"/cmd"),
				within(p.ImportPath, backend), // the backend itself and its tests
				within(p.ImportPath, module+"/storage/storagetest"),
				// a backend's tests comparing its answers with another backend's
				!slices.Contains(p.Imports, imp) && slices.ContainsFunc(storageBackends, func(b string) bool { return within(p.ImportPath, b) }):
			default:
				flag(imp, "only "+module+"/cmd/... names a storage backend")
			}
		}
	}

	// 3. The rule engine and the token code know nothing of HTTP: not even through another
	// package, so for them the transitive dependencies count too.
	if within(p.ImportPath, module+"/rules") || within(p.ImportPath, module+"/tokens") {
		deps := slices.Concat(direct, p.Deps)
		slices.Sort(deps)
		for _, imp := range slices.Compact(deps) {
			if within(imp, module+"/server") {
				flag(imp, "rules and tokens must not depend on server")
			}
		}
	}
	return found
}

func TestArchitecture(t *testing.T) {
	pkgs := listPackages(t)
	if !slices.ContainsFunc(pkgs, func(p pkgImports) bool { return p.ImportPath == module+"/password" }) {
		t.Fatalf("go list found %d packages, and not %s/password: the listing is broken", len(pkgs), module)
	}
	for _, p := range pkgs {
		for _, v := range archViolations(p) {
			t.Error(v)
		}
	}
}

// listPackages lists the module's packages. -e keeps going past a package that does not build
// (that is for its own tests to report); its imports are still listed.
func listPackages(t *testing.T) []pkgImports {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkgImports
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkgImports
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestArchViolations tests the rules themselves on made-up packages.
func TestArchViolations(t *testing.T) {
	const echo = "github.com/labstack/echo/v4"
	const sqlite = module + "/storage/sqlite"
	tests := []struct {
		name string
		pkg  pkgImports
		want int // violations
	}{
		// echo
		{"server imports echo", pkgImports{ImportPath: module + "/server", Imports: []string{echo}}, 0},
		{"server subpackage imports echo", pkgImports{ImportPath: module + "/server/authapi", Imports: []string{echo, echo + "/middleware"}}, 0},
		{"server test imports echo", pkgImports{ImportPath: module + "/server/mgmtapi", XTestImports: []string{echo}}, 0},
		{"tokens imports echo", pkgImports{ImportPath: module + "/tokens", Imports: []string{echo}}, 1},
		{"echo middleware outside server", pkgImports{ImportPath: module + "/rules", Imports: []string{echo + "/middleware"}}, 1},
		{"cmd imports echo", pkgImports{ImportPath: module + "/cmd/latch", Imports: []string{echo}}, 1},
		{"test file imports echo", pkgImports{ImportPath: module + "/storage", TestImports: []string{echo}}, 1},
		{"external test imports echo", pkgImports{ImportPath: module + "/password", XTestImports: []string{echo}}, 1},
		{"root test imports echo", pkgImports{ImportPath: module, XTestImports: []string{echo}}, 1},
		{"serverless is not server", pkgImports{ImportPath: module + "/serverless", Imports: []string{echo}}, 1},
		{"echo in own and test imports counts once", pkgImports{ImportPath: module + "/web", Imports: []string{echo}, TestImports: []string{echo}}, 1},
		{"transitive echo is fine", pkgImports{ImportPath: module + "/cmd/latch", Imports: []string{module + "/server"}, Deps: []string{echo}}, 0},

		// storage backends
		{"cmd imports sqlite", pkgImports{ImportPath: module + "/cmd/latch", Imports: []string{sqlite, module + "/storage/mongo", module + "/storage/redis"}}, 0},
		{"cmd tool imports mongo", pkgImports{ImportPath: module + "/cmd/latchbench", XTestImports: []string{module + "/storage/mongo"}}, 0},
		{"sqlite imports its subpackage", pkgImports{ImportPath: sqlite, Imports: []string{sqlite + "/migrations"}}, 0},
		{"sqlite test imports sqlite", pkgImports{ImportPath: sqlite, XTestImports: []string{sqlite, module + "/storage/storagetest"}}, 0},
		{"storagetest imports backends", pkgImports{ImportPath: module + "/storage/storagetest", Imports: []string{sqlite, module + "/storage/redis"}}, 0},
		{"storage interfaces only", pkgImports{ImportPath: module + "/server/flow", Imports: []string{module + "/storage"}}, 0},
		{"server imports sqlite", pkgImports{ImportPath: module + "/server", Imports: []string{sqlite}}, 1},
		{"flow test imports sqlite", pkgImports{ImportPath: module + "/server/flow", TestImports: []string{sqlite}}, 1},
		{"rules external test imports redis", pkgImports{ImportPath: module + "/rules", XTestImports: []string{module + "/storage/redis"}}, 1},
		{"storage imports mongo", pkgImports{ImportPath: module + "/storage", Imports: []string{module + "/storage/mongo"}}, 1},
		{"mongo imports redis", pkgImports{ImportPath: module + "/storage/mongo", Imports: []string{module + "/storage/redis"}}, 1},
		{"backend subpackage from outside", pkgImports{ImportPath: module + "/tokens", Imports: []string{sqlite + "/internal/schema"}}, 1},
		{"sqlitex is not sqlite", pkgImports{ImportPath: module + "/server", Imports: []string{module + "/storage/sqlitex"}}, 0},
		{"backend test compares with another backend", pkgImports{ImportPath: module + "/storage/mongo", TestImports: []string{sqlite}}, 0},
		{"backend imports another backend", pkgImports{ImportPath: module + "/storage/mongo", Imports: []string{sqlite}}, 1},
		{"two backends", pkgImports{ImportPath: module + "/server/mgmtapi", Imports: []string{sqlite, module + "/storage/redis"}}, 2},

		// rules and tokens stay away from server
		{"rules imports server", pkgImports{ImportPath: module + "/rules", Imports: []string{module + "/server"}}, 1},
		{"tokens imports server/flow", pkgImports{ImportPath: module + "/tokens", Imports: []string{module + "/server/flow"}}, 1},
		{"rules test imports server", pkgImports{ImportPath: module + "/rules", XTestImports: []string{module + "/server"}}, 1},
		{"rules depends on server through a helper", pkgImports{ImportPath: module + "/rules", Imports: []string{module + "/helper"}, Deps: []string{module + "/helper", module + "/server"}}, 1},
		{"rules subpackage imports server", pkgImports{ImportPath: module + "/rules/sandbox", Imports: []string{module + "/server/authapi"}}, 1},
		{"rules imports storage", pkgImports{ImportPath: module + "/rules", Imports: []string{module + "/storage", "github.com/dop251/goja"}}, 0},
		{"tokens imports go-jose", pkgImports{ImportPath: module + "/tokens", Imports: []string{"github.com/go-jose/go-jose/v4"}, Deps: []string{"github.com/go-jose/go-jose/v4"}}, 0},
		{"servertools is not server", pkgImports{ImportPath: module + "/tokens", Imports: []string{module + "/servertools"}}, 0},
		{"tokens imports echo and server", pkgImports{ImportPath: module + "/tokens", Imports: []string{echo, module + "/server"}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := archViolations(tt.pkg)
			if len(got) != tt.want {
				t.Errorf("archViolations(%+v) = %d violations %q, want %d", tt.pkg, len(got), got, tt.want)
			}
		})
	}
}
