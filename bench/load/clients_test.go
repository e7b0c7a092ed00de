package main

import (
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
)

// The clients skip decoding the map's frames only: every other kind, and
// anything that is not a valid header, goes to the decoder.
func TestIsMapFrame(t *testing.T) {
	layout := &deepercluster.Layout{Version: 3, X: []float32{0, 1}, Y: []float32{1, 0}}
	cases := []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"layout", wire.AppendLayout(nil, 1, layout), true},
		{"layout delta", wire.AppendLayoutDelta(nil, 1, &deepercluster.LayoutDelta{Version: 3, N: 2}), true},
		{"layout progress", wire.AppendLayoutProgress(nil, 1, 3, deepercluster.LayoutProgress{Stage: "knn", Done: 0.5}), true},
		{"snapshot request", wire.AppendRequestSnapshot(nil, 3), false},
		{"short", []byte{'D', 'C'}, false},
		{"other format version", append([]byte{'D', 'C', wire.Version + 1, byte(wire.KindLayout)}, make([]byte, 8)...), false},
		{"bad magic", append([]byte{'X', 'C', wire.Version, byte(wire.KindLayout)}, make([]byte, 8)...), false},
	}
	for _, c := range cases {
		if got := isMapFrame(c.frame); got != c.want {
			t.Errorf("%s: isMapFrame %v, want %v", c.name, got, c.want)
		}
	}
}
