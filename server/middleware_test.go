package server

import (
	"runtime"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/internal/par"
)

// In a process that reserved a P for requests (serve), an HTTP request
// borrows it and a websocket, open for the whole visit, does not: a page
// left open must not keep the training kernels off their full speed.
func TestRequestsBorrowAP(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	// An hour's linger: what was lent stays lent for the test to see.
	par.ReserveForRequests(t.Context(), time.Hour)
	ts := startServer(t, Config{}, testDataset(t, 50), nil)

	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"idle", func() {}, procs},
		{"a websocket open", func() { dial(t, ts.wsURL(""), nil) }, procs},
		{"after a request", func() { do(t, "GET", ts.ts.URL+"/api/run", "", nil) }, procs + 1},
	}
	for _, s := range steps {
		s.do()
		if got := runtime.GOMAXPROCS(0); got != s.want {
			t.Fatalf("%s: GOMAXPROCS %d, want %d", s.name, got, s.want)
		}
	}
}
