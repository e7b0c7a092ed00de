package pipeline

import (
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// TestMain initialises Beam, as the binary's main does: Prism then runs
// the pipelines' workers in this process (loopback).
func TestMain(m *testing.M) {
	beam.Init()
	os.Exit(m.Run())
}
