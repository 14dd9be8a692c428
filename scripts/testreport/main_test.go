package main

import (
	"bytes"
	"strings"
	"testing"
)

const run = `{"Action":"start","Package":"ex/a"}
{"Action":"run","Package":"ex/a","Test":"TestOK"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"    a_test.go:5: noise of a passing test\n"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"ex/a","Test":"TestOK"}
{"Action":"run","Package":"ex/a","Test":"TestBad"}
{"Action":"output","Package":"ex/a","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"ex/a","Test":"TestBad","Output":"    a_test.go:9: got 1, want 2\n"}
{"Action":"output","Package":"ex/a","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"ex/a","Test":"TestBad"}
{"Action":"run","Package":"ex/a","Test":"TestRedis"}
{"Action":"output","Package":"ex/a","Test":"TestRedis","Output":"=== RUN   TestRedis\n"}
{"Action":"output","Package":"ex/a","Test":"TestRedis","Output":"    a_test.go:12: redis-server not installed\n"}
{"Action":"output","Package":"ex/a","Test":"TestRedis","Output":"--- SKIP: TestRedis (0.00s)\n"}
{"Action":"skip","Package":"ex/a","Test":"TestRedis"}
{"Action":"output","Package":"ex/a","Output":"FAIL\n"}
{"Action":"output","Package":"ex/a","Output":"FAIL\tex/a\t0.01s\n"}
{"Action":"fail","Package":"ex/a"}
{"Action":"run","Package":"ex/b","Test":"TestHangs"}
{"Action":"output","Package":"ex/b","Test":"TestHangs","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"ex/b","Output":"FAIL\tex/b\t1.00s\n"}
{"Action":"fail","Package":"ex/b"}
{"ImportPath":"ex/c","Action":"build-output","Output":"c.go:3:1: syntax error\n"}
{"ImportPath":"ex/c","Action":"build-fail"}
{"Action":"output","Package":"ex/c","Output":"FAIL\tex/c [build failed]\n"}
{"Action":"fail","Package":"ex/c"}
some line that is not JSON
`

func render(t *testing.T, input string, ci bool) (string, int) {
	t.Helper()
	var out bytes.Buffer
	r := &report{out: &out, pending: make(map[key][]string)}
	for _, line := range strings.Split(strings.TrimSuffix(input, "\n"), "\n") {
		r.line(line)
	}
	code := r.finish(ci)
	return out.String(), code
}

func TestReport(t *testing.T) {
	out, code := render(t, run, false)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		"    a_test.go:9: got 1, want 2\n--- FAIL: TestBad",
		"FAIL\tex/a\t0.01s\n",
		"panic: test timed out after 1s\n",
		"c.go:3:1: syntax error\n",
		"some line that is not JSON\n",
		"  ex/a TestRedis\n    a_test.go:12: redis-server not installed\n",
		"failed packages: ex/a ex/b ex/c\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "noise of a passing test") {
		t.Errorf("a passing test's output was printed:\n%s", out)
	}
	if !strings.HasSuffix(out, "\nsummary: 1 passed, 1 failed, 1 skipped\n") {
		t.Errorf("summary line missing or not last:\n%s", out)
	}
}

func TestReportAllPass(t *testing.T) {
	in := `{"Action":"pass","Package":"ex/a","Test":"TestOK"}
{"Action":"pass","Package":"ex/a","Test":"TestOK/sub"}
{"Action":"output","Package":"ex/a","Output":"PASS\n"}
{"Action":"output","Package":"ex/a","Output":"ok  \tex/a\t0.01s\n"}
{"Action":"pass","Package":"ex/a"}`
	for _, ci := range []bool{false, true} {
		out, code := render(t, in, ci)
		if code != 0 || out != "ok  \tex/a\t0.01s\nsummary: 2 passed, 0 failed, 0 skipped\n" {
			t.Errorf("CI=%v: code %d, output:\n%s", ci, code, out)
		}
	}
}

func TestReportCIRefusesSkips(t *testing.T) {
	in := `{"Action":"pass","Package":"ex/a","Test":"TestOK"}
{"Action":"output","Package":"ex/a","Test":"TestChromium","Output":"    e2e_test.go:3: no chromium\n"}
{"Action":"skip","Package":"ex/a","Test":"TestChromium"}
{"Action":"pass","Package":"ex/a"}`
	if _, code := render(t, in, false); code != 0 {
		t.Errorf("a skip outside CI failed the run")
	}
	out, code := render(t, in, true)
	if code != 1 || !strings.Contains(out, "FAIL: 1 tests skipped under CI=true") || !strings.Contains(out, "no chromium") {
		t.Errorf("a skip under CI: code %d, output:\n%s", code, out)
	}
}

func TestReportCINoTests(t *testing.T) {
	in := `{"Action":"output","Package":"ex/a","Output":"?   \tex/a\t[no test files]\n"}
{"Action":"skip","Package":"ex/a"}`
	if _, code := render(t, in, false); code != 0 {
		t.Error("no tests outside CI failed the run")
	}
	if out, code := render(t, in, true); code != 1 || !strings.Contains(out, "no test ran") {
		t.Errorf("no tests under CI: code %d, output:\n%s", code, out)
	}
}
