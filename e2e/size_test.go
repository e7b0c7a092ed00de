package e2e

import (
	"os"
	"testing"
)

// maxWasmGzip is the budget for the served client.
const maxWasmGzip = 1_500_000

// TestWasmSize keeps the served (gzipped) client within its budget.
func TestWasmSize(t *testing.T) {
	fi, err := os.Stat("../static/main.wasm.gz")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("static/main.wasm.gz: %v (make test builds it with make wasm)", err)
		}
		t.Skipf("static/main.wasm.gz not built: %v", err)
	}
	t.Logf("main.wasm.gz: %d bytes", fi.Size())
	if fi.Size() > maxWasmGzip {
		t.Fatalf("main.wasm.gz is %d bytes, over the budget of %d", fi.Size(), maxWasmGzip)
	}
}
