package pipeline

import (
	"os/exec"
	"strings"
	"testing"
)

func TestRunnerValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r       Runner
		wantErr string
	}{
		{"default is prism", Runner{}, ""},
		{"prism", Runner{Name: RunnerPrism}, ""},
		{"universal with endpoint", Runner{Name: RunnerUniversal, Endpoint: "localhost:8099"}, ""},
		{"universal without endpoint", Runner{Name: RunnerUniversal}, "--endpoint"},
		{"unknown", Runner{Name: "dataflow"}, "want prism or universal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestBeamStaysOutOfTheMainBinary: Beam is linked only into
// deepercluster-pipeline; the explorer's binary and the browser client
// do not depend on it.
func TestBeamStaysOutOfTheMainBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, tc := range []struct {
		pkg string
		env []string
	}{
		{"../cmd/deepercluster", nil},
		{"../wasm", []string{"GOOS=js", "GOARCH=wasm"}},
	} {
		cmd := exec.Command("go", "list", "-deps", tc.pkg)
		cmd.Env = append(cmd.Environ(), tc.env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tc.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "apache/beam") || strings.HasSuffix(dep, "deepercluster/pipeline") {
				t.Errorf("%s depends on %s", tc.pkg, dep)
			}
		}
	}
}
