package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestRun: the last JSON object of a benchmark's output gets the machine's
// keys after its own (kept in their order), other lines pass unchanged,
// and output without an object is an error.
func TestRun(t *testing.T) {
	for _, c := range []struct {
		name, in      string
		threads, peer int
		wantPrefix    string
		wantPeer      bool
		wantErr       bool
	}{
		{"script output", "n=1 ours: 3\n{\"b\": 2, \"a\": 1}\n", 0, 2, "n=1 ours: 3\n{\"b\": 2, \"a\": 1,\"cpu\":", true, false},
		{"empty object, threads given", "{}\n", 3, 0, "{\"cpu\":", false, false},
		{"object then text", "{\"x\":1}\ntrailer\n", 0, 0, "{\"x\":1,\"cpu\":", false, false},
		{"no object", "nothing here\n{broken\n", 0, 0, "", false, true},
		{"script's own gomaxprocs and nproc kept, not repeated", "{\"gomaxprocs\":7,\"nproc\":9}\n", 0, 2, "{\"gomaxprocs\":7,\"nproc\":9,\"cpu\":", true, false},
		{"machine there already", "{\"cpu\":{\"model\":\"x\"},\"gomaxprocs\":1,\"nproc\":1,\"peer_threads\":1}\n", 0, 0, "{\"cpu\":{\"model\":\"x\"},\"gomaxprocs\":1,\"nproc\":1,\"peer_threads\":1}\n", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(strings.NewReader(c.in), &out, c.threads, c.peer)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v", err)
			}
			if c.wantErr {
				return
			}
			s := out.String()
			if !strings.HasPrefix(s, c.wantPrefix) {
				t.Fatalf("output %q, want it to start %q", s, c.wantPrefix)
			}
			var obj map[string]any
			for _, l := range strings.Split(s, "\n") {
				if strings.HasPrefix(l, "{") {
					if err := json.Unmarshal([]byte(l), &obj); err != nil {
						t.Fatalf("%q: %v", l, err)
					}
				}
			}
			cpu, _ := obj["cpu"].(map[string]any)
			if cpu == nil || cpu["model"] == "" || obj["nproc"] == nil || obj["gomaxprocs"] == nil {
				t.Fatalf("machine keys missing: %v", obj)
			}
			if _, ok := obj["peer_threads"]; ok != c.wantPeer {
				t.Fatalf("peer_threads present %v, want %v: %v", ok, c.wantPeer, obj)
			}
			if n := strings.Count(s, `"gomaxprocs"`); n != 1 {
				t.Fatalf("gomaxprocs appears %d times: %s", n, s)
			}
			if c.threads > 0 && obj["gomaxprocs"] != float64(c.threads) {
				t.Fatalf("gomaxprocs %v, want %d", obj["gomaxprocs"], c.threads)
			}
		})
	}
}
