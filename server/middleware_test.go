package server

import (
	"runtime"
	"strconv"
	"strings"
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

// Every API answer, errors included, says how long its handler took
// (Server-Timing), and never more than the whole round trip the client saw.
func TestServerTiming(t *testing.T) {
	const n = 200
	ts := startServer(t, Config{}, testDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, ts.s, 1)
	cases := []struct {
		name, path string
		status     int
	}{
		{"suggest without a prefix", "/api/suggest?prefix=", 400},
		{"clusters", "/api/clusters", 200},
		{"bad request", "/api/clusters/x/0", 400},
		{"not found", "/api/nope", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			code, _, h := do(t, "GET", ts.ts.URL+c.path, "", nil)
			roundTrip := time.Since(start)
			if code != c.status {
				t.Fatalf("status %d, want %d", code, c.status)
			}
			v := h.Get("Server-Timing")
			ms, ok := strings.CutPrefix(v, "app;dur=")
			if !ok {
				t.Fatalf("Server-Timing %q, want app;dur=MS", v)
			}
			d, err := strconv.ParseFloat(ms, 64)
			if err != nil || d < 0 {
				t.Fatalf("Server-Timing %q: duration %v, %v", v, d, err)
			}
			if d > float64(roundTrip.Microseconds())/1000 {
				t.Fatalf("Server-Timing says %.3f ms, the whole round trip took %v", d, roundTrip)
			}
		})
	}
}
