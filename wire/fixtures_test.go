package wire

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/internal/atomicfile"

	"github.com/deepercluster/deepercluster"
)

// update rewrites the fixtures from the current encoders. The committed
// fixtures were written by the code before the wire package existed, so a
// change of encoding shows up as a failing byte comparison; run with
// -update only for a deliberate format change (and bump the version).
var update = flag.Bool("update", false, "rewrite testdata/fixtures/*.bin from the current encoders")

// fixtureDir holds one encoded value of every kind the wire format has.
const fixtureDir = "testdata/fixtures"

// fixAssignment is a valid assignment of n images, m super-clusters and
// subs sub-clusters (sub-cluster j under super-cluster j%m), built by
// formula rather than a random stream, so it never changes with the Go
// version.
func fixAssignment(version uint32, n, m, subs int) *deepercluster.Assignment {
	a := &deepercluster.Assignment{Version: version, M: m, SubParent: make([]int32, subs), Super: make([]int32, n), Sub: make([]int32, n)}
	for j := range a.SubParent {
		a.SubParent[j] = int32(j % m)
	}
	for i := range n {
		z := int32((i*7919 + 13) % subs)
		a.Sub[i], a.Super[i] = z, a.SubParent[z]
	}
	return a
}

func fixInfo() deepercluster.RunInfo {
	return deepercluster.RunInfo{
		ID: "run-fixture", Dataset: "synthetic", Images: 20, Resolution: 32, Labels: true,
		Params:   deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 3, ReclusterEvery: 2, PCADim: 16},
		Progress: deepercluster.Progress{Phase: deepercluster.PhaseTraining, Epoch: 3, Epochs: 10, Step: 17, Steps: 40, Done: 0.425, LossSuper: 1.5, LossSub: -2.25, PrecSuper: 0.5, PrecSub: 0.125, ImagesPerSec: 812.5},
		Version:  2,
		Started:  time.Date(2026, 12, 6, 17, 40, 5, 987654321, time.UTC),
	}
}

func fixSums() []deepercluster.ClusterSummary {
	return []deepercluster.ClusterSummary{
		{Sub: 0, Super: 0, Size: 7, TopTags: []deepercluster.TagCount{{Tag: "beach", Count: 5}, {Tag: "new york", Count: 2}}, TopShare: 5.0 / 7, Keywords: []string{"new york", "beach"}},
		{Sub: 1, Super: 1, Size: 0},
		{Sub: 11, Super: 3, Size: 300, TopTags: []deepercluster.TagCount{{Tag: "", Count: 0}, {Tag: "ünïcode", Count: 1}}, TopShare: math.Inf(1), Keywords: []string{"ünïcode"}},
	}
}

// fixPoint is position q of LayoutQuant on the axis [0, 1]: quantising and
// dequantising it gives it back exactly, so a decoded layout equals the
// encoded one.
func fixPoint(q int) float32 { return float32(q) / LayoutQuant }

func fixLayout() *deepercluster.Layout {
	qs := []int{0, 65535, 1, 32768, 40000, 7, 65534}
	l := &deepercluster.Layout{Version: 2, Final: true, X: make([]float32, len(qs)), Y: make([]float32, len(qs))}
	for i, q := range qs {
		l.X[i], l.Y[i] = fixPoint(q), fixPoint(qs[len(qs)-1-i])
	}
	return l
}

func fixDelta() *deepercluster.Delta {
	old, next := fixAssignment(1, 20, 4, 12), fixAssignment(2, 20, 5, 15)
	for i := range next.Super {
		if i%3 == 0 {
			next.Super[i], next.Sub[i] = old.Super[i], old.Sub[i]
		}
	}
	d, err := deepercluster.DiffAssignments(old, next)
	if err != nil {
		panic(err)
	}
	d.Summaries = fixSums()
	return &d
}

func fixHistory() *deepercluster.History {
	return &deepercluster.History{
		Stride: 2,
		Steps:  []deepercluster.StepPoint{{Epoch: 0, LossSuper: 3, LossSub: 4.5, PrecSuper: 0.25, PrecSub: 0.125}, {Epoch: 1, LossSuper: 2, LossSub: 3.75, PrecSuper: 0.5, PrecSub: 0.375}},
		Metrics: []deepercluster.Metrics{
			{Version: 1, Epoch: 0, StabilityNMI: math.Inf(-1), LabelNMI: 0.3, LabelARI: 0.2, LabelPurity: 0.4},
			{Version: 2, Epoch: 1, StabilityNMI: 0.9, LabelNMI: 0.35, LabelARI: -0.01, LabelPurity: 1},
		},
	}
}

func fixThumbs() *ThumbBatch {
	b := &ThumbBatch{Px: 2, IDs: []int32{5, 0, 1<<31 - 1}, Pix: make([]byte, 3*2*2*3)}
	for i := range b.Pix {
		b.Pix[i] = byte(i*37 + 1)
	}
	return b
}

// wireFixture is one encoded value: how to encode it, how to decode the
// bytes back and the value decoding must give.
type wireFixture struct {
	name   string
	encode func() []byte
	decode func([]byte) (any, error)
	want   any
}

func decodeFrame(b []byte) (any, error) { return DecodeFrame(b) }

func wireFixtures() []wireFixture {
	const run = 0xC0FFEE
	info, infoNoTime, infoDevice := fixInfo(), fixInfo(), fixInfo()
	infoNoTime.Started = time.Time{}
	infoDevice.Device = deepercluster.DeviceInfo{Kind: "cuda", Name: "NVIDIA H100 80GB HBM3", MemoryBytes: 85_045_231_616}
	snap8, snap16, snap32 := fixAssignment(2, 20, 4, 12), fixAssignment(3, 40, 300, 300), fixAssignment(4, 8, 1, 1<<16+1)
	delta, hist, lay := fixDelta(), fixHistory(), fixLayout()
	ld := &deepercluster.LayoutDelta{Version: 2, N: 7, Index: []uint32{0, 3, 6}, X: []float32{fixPoint(0), fixPoint(65535), fixPoint(123)}, Y: []float32{fixPoint(65535), fixPoint(9), fixPoint(0)}}
	lp := deepercluster.LayoutProgress{Stage: "knn", Done: 0.75}
	prog := info.Progress
	met := deepercluster.Metrics{Version: 2, Epoch: 4, StabilityNMI: 0.8, LabelNMI: math.Inf(1), LabelARI: -0.01, LabelPurity: 1}
	thumbs := fixThumbs()
	stored := fixAssignment(7, 20, 4, 12)
	return []wireFixture{
		{"snapshot", func() []byte { return AppendSnapshot(nil, info, snap8, fixSums()) }, decodeFrame,
			Frame{Kind: KindSnapshot, Run: RunHash(info.ID), Version: 2, Info: &info, Assignment: snap8, Summaries: fixSums()}},
		{"snapshot-u16", func() []byte { return AppendSnapshot(nil, infoNoTime, snap16, nil) }, decodeFrame,
			Frame{Kind: KindSnapshot, Run: RunHash(info.ID), Version: 3, Info: &infoNoTime, Assignment: snap16}},
		{"snapshot-u32", func() []byte { return AppendSnapshot(nil, info, snap32, fixSums()[:1]) }, decodeFrame,
			Frame{Kind: KindSnapshot, Run: RunHash(info.ID), Version: 4, Info: &info, Assignment: snap32, Summaries: fixSums()[:1]}},
		{"delta", func() []byte { return AppendDelta(nil, run, delta) }, decodeFrame,
			Frame{Kind: KindDelta, Run: run, Version: 2, Delta: delta}},
		{"progress", func() []byte { return AppendProgress(nil, run, 2, prog) }, decodeFrame,
			Frame{Kind: KindProgress, Run: run, Version: 2, Progress: &prog}},
		{"metrics", func() []byte { return AppendMetrics(nil, run, met) }, decodeFrame,
			Frame{Kind: KindMetrics, Run: run, Version: 2, Metrics: &met}},
		{"runinfo", func() []byte { return AppendRunInfo(nil, info) }, decodeFrame,
			Frame{Kind: KindRunInfo, Run: RunHash(info.ID), Version: 2, Info: &info}},
		{"runinfo-no-start", func() []byte { return AppendRunInfo(nil, infoNoTime) }, decodeFrame,
			Frame{Kind: KindRunInfo, Run: RunHash(info.ID), Version: 2, Info: &infoNoTime}},
		{"runinfo-device", func() []byte { return AppendRunInfo(nil, infoDevice) }, decodeFrame,
			Frame{Kind: KindRunInfo, Run: RunHash(info.ID), Version: 2, Info: &infoDevice}},
		{"summaries", func() []byte { return AppendSummaries(nil, run, 2, fixSums()) }, decodeFrame,
			Frame{Kind: KindSummaries, Run: run, Version: 2, Summaries: fixSums()}},
		{"history", func() []byte { return AppendHistory(nil, run, 2, hist) }, decodeFrame,
			Frame{Kind: KindHistory, Run: run, Version: 2, History: hist}},
		{"layout", func() []byte { return AppendLayout(nil, run, lay) }, decodeFrame,
			Frame{Kind: KindLayout, Run: run, Version: 2, Layout: lay}},
		{"layout-empty", func() []byte {
			return AppendLayout(nil, run, &deepercluster.Layout{Version: 1, X: []float32{}, Y: []float32{}})
		}, decodeFrame,
			Frame{Kind: KindLayout, Run: run, Version: 1, Layout: &deepercluster.Layout{Version: 1, X: []float32{}, Y: []float32{}}}},
		{"layout-delta", func() []byte { return AppendLayoutDelta(nil, run, ld) }, decodeFrame,
			Frame{Kind: KindLayoutDelta, Run: run, Version: 2, LayoutDelta: ld}},
		{"layout-progress", func() []byte { return AppendLayoutProgress(nil, run, 2, lp) }, decodeFrame,
			Frame{Kind: KindLayoutProgress, Run: run, Version: 2, LayoutProgress: &lp}},
		{"ping", func() []byte { return AppendPing(nil, 0x0102030405060708) }, decodeFrame,
			Frame{Kind: KindPing, Nonce: 0x0102030405060708}},
		{"pong", func() []byte { return AppendPong(nil, run, 2, math.MaxUint64) }, decodeFrame,
			Frame{Kind: KindPong, Run: run, Version: 2, Nonce: math.MaxUint64}},
		{"request-snapshot", func() []byte { return AppendRequestSnapshot(nil, 6) }, decodeFrame,
			Frame{Kind: KindRequestSnapshot, Version: 6, Nonce: 6}},
		{"thumbs", func() []byte { return AppendThumbBatch(nil, thumbs) },
			func(b []byte) (any, error) { return DecodeThumbBatch(b) }, thumbs},
		{"assignment", func() []byte { return MarshalAssignment(stored) },
			func(b []byte) (any, error) { return UnmarshalAssignment(b) }, stored},
	}
}

// TestWireFixtures is the proof that the wire format does not change by
// accident: every kind encodes to the very bytes committed in testdata/fixtures,
// and those bytes decode to the value they were made from.
func TestWireFixtures(t *testing.T) {
	for _, fx := range wireFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(fixtureDir, fx.name+".bin")
			got := fx.encode()
			if *update {
				if err := atomicfile.Write(path, got); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read fixture: %v", err)
			}
			if !bytes.Equal(got, want) {
				at := 0
				for at < min(len(got), len(want)) && got[at] == want[at] {
					at++
				}
				t.Fatalf("encoding is %d bytes, fixture %d; first difference at byte %d", len(got), len(want), at)
			}
			dec, err := fx.decode(want)
			if err != nil {
				t.Fatalf("decode fixture: %v", err)
			}
			if !reflect.DeepEqual(dec, fx.want) {
				t.Fatalf("fixture decodes to\n%+v\nwant\n%+v", dec, fx.want)
			}
		})
	}
}

// TestWireFixturesCoverEveryKind keeps the fixtures whole: a frame kind
// added later without a fixture fails here.
func TestWireFixturesCoverEveryKind(t *testing.T) {
	have := map[FrameKind]bool{}
	for _, fx := range wireFixtures() {
		if f, ok := fx.want.(Frame); ok {
			have[f.Kind] = true
		}
	}
	for k := range 256 {
		kind := FrameKind(k)
		if _, err := DecodeFrame(append([]byte{'D', 'C', Version, byte(kind)}, make([]byte, 8)...)); err != nil && strings.Contains(err.Error(), "unknown kind") {
			continue
		}
		if !have[kind] {
			t.Errorf("frame kind %v has no fixture", kind)
		}
	}
}
