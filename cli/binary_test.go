package cli

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The built binary dispatches the admin commands to this package and documents them.
func TestBinaryDispatch(t *testing.T) {
	s := shared
	latch := func(env []string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(latchBin, args...)
		cmd.Env = append([]string{"HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()}, env...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String(), errOut.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), out.String(), errOut.String()
		}
		t.Fatalf("running latch: %v", err)
		return 0, "", ""
	}
	creds := []string{"LATCH_URL=" + s.URL, "LATCH_CLIENT_ID=" + s.ClientID, "LATCH_CLIENT_SECRET=" + s.ClientSecret}

	code, out, errOut := latch(creds, "keys", "list", "--output", "json")
	var keys []signingKey
	if code != 0 || json.Unmarshal([]byte(out), &keys) != nil || len(keys) == 0 {
		t.Fatalf("latch keys list --output json: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = latch(nil, "help")
	for _, want := range []string{"LATCH_ADDR", "latch rules push DIR", "exit codes: 0 ok, 1 operation failed, 2 usage, 3 confirmation refused"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("latch help: exit %d, no %q in\n%s", code, want, out)
		}
	}
	if code, _, errOut = latch(creds, "users", "frobnicate"); code != ExitUsage || !strings.Contains(errOut, "unknown command") {
		t.Errorf("latch users frobnicate: exit %d %s", code, errOut)
	}
	if code, _, errOut = latch(append(creds, "LATCH_CLIENT_SECRET=wrong-secret-0123456789abcdef0123456789"), "rules", "list"); code != ExitAuth {
		t.Errorf("wrong secret through the binary: exit %d %s", code, errOut)
	}
}
