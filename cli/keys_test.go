package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKeysRotateAndRevoke(t *testing.T) {
	// A latch of its own: rotating keys under the other tests' tokens would be a needless
	// coupling.
	s := startExtraServer(t)
	keys := func() []signingKey {
		t.Helper()
		r := mustRun(t, s, ExitOK, "keys", "list", "--output", "json")
		var ks []signingKey
		if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil {
			t.Fatalf("keys list --output json: %v\n%s", err, r)
		}
		return ks
	}
	current := func(ks []signingKey) string {
		for _, k := range ks {
			if k.Current {
				return k.KID
			}
		}
		t.Fatalf("no current key in %+v", ks)
		return ""
	}
	before := current(keys())

	r := mustRun(t, s, ExitOK, "keys", "rotate")
	after := current(keys())
	if after == before || !strings.Contains(r.stdout, after) {
		t.Fatalf("rotate: current key %s → %s; said %s", before, after, r)
	}
	var previous bool
	for _, k := range keys() {
		if k.KID == before {
			previous = k.Previous
		}
	}
	if !previous {
		t.Fatalf("the old key %s is not previous after the rotation", before)
	}
	r = mustRun(t, s, ExitOK, "keys", "list")
	var line string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, before) {
			line = l
		}
	}
	if !strings.Contains(line, "previous") {
		t.Errorf("keys list text: the old key's line is %q in\n%s", line, r)
	}

	// Revoking asks: without a terminal or --yes it is refused and the key stays.
	r = run(t, s, runOpts{}, "keys", "revoke", before)
	if r.code != ExitRefused || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("revoke without --yes: %s", r)
	}
	for _, k := range keys() {
		if k.KID == before && k.Revoked {
			t.Fatal("a refused revoke revoked the key")
		}
	}
	mustRun(t, s, ExitOK, "keys", "revoke", before, "--yes")
	for _, k := range keys() {
		if k.KID == before && !k.Revoked {
			t.Fatalf("key %s not revoked: %+v", before, k)
		}
	}
	// The current key cannot be revoked; an unknown one does not exist: latch says so.
	if r = run(t, s, runOpts{}, "keys", "revoke", after, "--yes"); r.code != ExitFailed || !strings.Contains(r.stderr, "rotate first") {
		t.Errorf("revoking the current key: %s", r)
	}
	if r = run(t, s, runOpts{}, "keys", "revoke", "no-such-kid", "--yes"); r.code != ExitFailed || !strings.Contains(r.stderr, "no signing key no-such-kid") {
		t.Errorf("revoking an unknown key: %s", r)
	}
}
