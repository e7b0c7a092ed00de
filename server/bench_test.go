package server

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
	"github.com/gorilla/websocket"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// benchWS measures publishing one assignment until a Go websocket client on
// loopback has received and decoded it (and applied it, for a delta).
// scripts/bench-ws.sh reads its ns/op and MB/s.
func benchWS(b *testing.B, delta bool) {
	const n = 1_000_000
	ds, err := synthetic.New(synthetic.Config{Seed: 1, N: n, Resolution: 16})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{}, ds, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ts := startBenchServer(b, s)
	conn, _, err := websocket.DefaultDialer.Dial(ts, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// Two versions that differ in 10% of the images (every tenth).
	base := assignmentFor(1, n, 16, 64, 3, 0)
	moved := assignmentFor(2, n, 16, 64, 3, 5)
	d, err := deepercluster.DiffAssignments(base, moved)
	if err != nil {
		b.Fatal(err)
	}
	back, err := deepercluster.DiffAssignments(moved, base)
	if err != nil {
		b.Fatal(err)
	}
	snap := wire.AppendSnapshot(nil, deepercluster.RunInfo{ID: "bench"}, base, nil)
	fwd := wire.AppendDelta(nil, 1, &d)
	rev := wire.AppendDelta(nil, 1, &back)
	b.SetBytes(int64(len(snap)))
	if delta {
		b.SetBytes(int64(len(fwd)))
	}
	b.ReportMetric(float64(len(d.Index)), "changed")
	// The client holds version 1; deltas alternate 1->2 and 2->1.
	cur := &deepercluster.Assignment{Version: base.Version, M: base.M, SubParent: base.SubParent,
		Super: append([]int32(nil), base.Super...), Sub: append([]int32(nil), base.Sub...)}
	var buf []byte
	i := 0
	for b.Loop() {
		frame := snap
		if delta {
			frame = fwd
			if i%2 == 1 {
				frame = rev
			}
			i++
		}
		s.hub.Publish(frame)
		// A client that reuses its receive buffer, as a long-lived one does.
		buf, err = readMessage(conn, buf)
		if err != nil {
			b.Fatal(err)
		}
		f, err := wire.DecodeFrame(buf)
		if err != nil {
			b.Fatal(err)
		}
		if delta {
			if err := f.Delta.Apply(cur); err != nil {
				b.Fatal(err)
			}
		} else if len(f.Assignment.Super) != n {
			b.Fatal("short snapshot")
		}
	}
}

func startBenchServer(b *testing.B, s *Server) string {
	b.Helper()
	// Without Server.Run there is no base frame: a client receives only
	// what the benchmark publishes.
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(func() { s.CloseClients(); ts.Close() })
	return "ws" + ts.URL[len("http"):] + "/ws"
}

func BenchmarkWSSnapshot1M(b *testing.B) { benchWS(b, false) }
func BenchmarkWSDelta10pct(b *testing.B) { benchWS(b, true) }

// readMessage reads the next message into buf's storage.
func readMessage(conn *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return buf, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
