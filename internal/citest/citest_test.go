package citest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestOn reads the CI variable as .ci/run and hosted CI services set it.
func TestOn(t *testing.T) {
	for _, c := range []struct {
		val  string
		want bool
	}{{"", false}, {"0", false}, {"false", false}, {"1", true}, {"true", true}} {
		t.Setenv("CI", c.val)
		if got := On(); got != c.want {
			t.Errorf("CI=%q: On() = %v, want %v", c.val, got, c.want)
		}
	}
}

// TestMissing runs a test that calls Missing in a child process, with and
// without CI, and reads its verdict from go test's own output: a skip
// locally, a failure under CI.
func TestMissing(t *testing.T) {
	if os.Getenv("CITEST_CHILD") == "1" {
		Missing(t, "frobnicator not installed (apt-get install frobnicator)")
		t.Fatal("Missing returned")
	}
	for _, c := range []struct {
		ci       string
		wantFail bool
		wantLine string
	}{{"", false, "--- SKIP: TestMissing"}, {"1", true, "--- FAIL: TestMissing"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "CITEST_CHILD=1", "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.wantFail || !strings.Contains(string(out), c.wantLine) || !strings.Contains(string(out), "frobnicator not installed") {
			t.Errorf("CI=%q: err %v, output:\n%s\nwant %q and the message", c.ci, err, out, c.wantLine)
		}
	}
}
