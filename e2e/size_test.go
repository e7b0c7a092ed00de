package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster/internal/citest"
)

// maxWasmGzip is the budget for the served client: 1.5 MB gzipped.
const maxWasmGzip = 1_500_000

// TestWasmSize keeps the served (gzipped) client within its budget.
func TestWasmSize(t *testing.T) {
	fi, err := os.Stat("../static/main.wasm.gz")
	if err != nil {
		citest.Missing(t, "static/main.wasm.gz: %v (make test builds it with make wasm)", err)
	}
	t.Logf("main.wasm.gz: %d bytes", fi.Size())
	if fi.Size() > maxWasmGzip {
		t.Fatalf("main.wasm.gz is %d bytes, over the budget of %d", fi.Size(), maxWasmGzip)
	}
}

// TestShippedClientHasNoHooks checks that the test and benchmark hooks are
// only in the client built with the dctest tag, not in static/main.wasm.
func TestShippedClientHasNoHooks(t *testing.T) {
	hooks := []string{"dcState", "dcBench", "dcFullFrames", "dcCells", "dcZoomToSub", "dcMapPixels", "dcMapBench"}
	for _, c := range []struct {
		path string
		want bool
	}{{"../static/main.wasm", false}, {filepath.Join("..", TestClientDir, "main.wasm"), true}} {
		b, err := os.ReadFile(c.path)
		if err != nil {
			citest.Missing(t, "%v (make test builds it with make wasm)", err)
		}
		for _, h := range hooks {
			if got := bytes.Contains(b, []byte(h)); got != c.want {
				t.Errorf("%s holds %s: %v, want %v", c.path, h, got, c.want)
			}
		}
	}
}
