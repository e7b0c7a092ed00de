// Command machine adds benchstat.Machine's keys (cpu, gomaxprocs, nproc,
// peer_threads) to the JSON object a benchmark script built, so that the
// scripts that assemble their JSON in Python, awk or jq carry the same
// machine description as the Go benchmark programs (one helper for all).
//
// It reads the benchmark's output on stdin, passes every line through, and
// rewrites the last line that is a JSON object with the keys appended
// (the object's own keys and their order are kept; an object that has
// "cpu" already is left as it is). gomaxprocs is this
// process's GOMAXPROCS, which it inherits from the script's environment as
// ours does, or -threads where ours was given another.
//
//	... | go run ./bench/machine -peer-threads 2
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
)

func main() {
	peer := flag.Int("peer-threads", 0, "the peer's thread count (0: no peer, peer_threads left out)")
	threads := flag.Int("threads", 0, "our GOMAXPROCS in the benchmark (0: this process's, from the GOMAXPROCS environment variable)")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *threads, *peer); err != nil {
		fmt.Fprintln(os.Stderr, "bench/machine:", err)
		os.Exit(1)
	}
}

// run copies in to out, adding the machine's keys to the last line that
// is a JSON object.
func run(in io.Reader, out io.Writer, threads, peer int) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	last := -1
	var have map[string]json.RawMessage
	for i := len(lines) - 1; i >= 0; i-- {
		if t := bytes.TrimSpace(lines[i]); len(t) > 0 && t[0] == '{' && json.Unmarshal(t, &have) == nil {
			last = i
			break
		}
	}
	if last < 0 {
		return fmt.Errorf("no JSON object in the %d lines of the benchmark's output", len(lines))
	}
	if _, ok := have["cpu"]; ok {
		// A Go benchmark program put the machine there already.
		_, err := out.Write(data)
		return err
	}
	m := benchstat.Machine(peer)
	if threads > 0 {
		m.GOMAXPROCS = threads
	}
	// The machine's keys in their fixed order, less those the script wrote
	// itself (its own gomaxprocs or nproc stand): a key twice is not JSON
	// that every reader takes alike.
	var extra [][]byte
	for _, kv := range []struct {
		key string
		val any
	}{{"cpu", m.CPU}, {"gomaxprocs", m.GOMAXPROCS}, {"nproc", m.Nproc}, {"peer_threads", m.PeerThreads}} {
		if _, ok := have[kv.key]; ok || (kv.key == "peer_threads" && m.PeerThreads == 0) {
			continue
		}
		v, err := json.Marshal(kv.val)
		if err != nil {
			return err
		}
		extra = append(extra, fmt.Appendf(nil, "%q:%s", kv.key, v))
	}
	obj := bytes.TrimSpace(lines[last])
	body := bytes.TrimSpace(obj[1 : len(obj)-1])
	if len(body) > 0 {
		extra = append([][]byte{body}, extra...)
	}
	lines[last] = append(append([]byte("{"), bytes.Join(extra, []byte(","))...), '}')
	w := bufio.NewWriter(out)
	for _, l := range lines {
		w.Write(l)
		w.WriteByte('\n')
	}
	return w.Flush()
}
