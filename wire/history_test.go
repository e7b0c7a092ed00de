package wire

import (
	"math"
	"reflect"
	"testing"

	"github.com/deepercluster/deepercluster"
)

func testHistory() *deepercluster.History {
	h := &deepercluster.History{}
	for i := range 5 {
		h.AddStep(i/2, float64(i), 2*float64(i), 0.5, 0.25)
	}
	h.AddMetrics(deepercluster.Metrics{Version: 1, Epoch: 0, StabilityNMI: math.NaN(), LabelNMI: 0.3, LabelARI: 0.2, LabelPurity: 0.4})
	h.AddMetrics(deepercluster.Metrics{Version: 2, Epoch: 1, StabilityNMI: 0.9, LabelNMI: math.NaN(), LabelARI: math.NaN(), LabelPurity: math.NaN()})
	return h
}

func TestHistoryFrameRoundTrip(t *testing.T) {
	h := testHistory()
	f, err := DecodeFrame(AppendHistory(nil, 7, 2, h))
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != KindHistory || f.Run != 7 || f.Version != 2 || f.History == nil {
		t.Fatalf("frame %+v", f)
	}
	got := f.History
	if got.Stride != h.Stride || !reflect.DeepEqual(got.Steps, h.Steps) || len(got.Metrics) != 2 {
		t.Fatalf("history %+v, want %+v", got, h)
	}
	if !math.IsNaN(got.Metrics[0].StabilityNMI) || got.Metrics[0].LabelNMI != 0.3 || got.Metrics[1].Version != 2 {
		t.Fatalf("metrics %+v", got.Metrics)
	}
	// A truncated frame is refused, never misread.
	b := AppendHistory(nil, 7, 2, h)
	for cut := HeaderSize; cut < len(b); cut += 7 {
		if _, err := DecodeFrame(b[:cut]); err == nil {
			t.Fatalf("truncated at %d of %d: accepted", cut, len(b))
		}
	}
}
