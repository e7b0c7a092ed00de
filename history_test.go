package deepercluster

import (
	"math"
	"reflect"
	"testing"
)

func testHistory() *History {
	h := &History{}
	for i := range 5 {
		h.AddStep(i/2, float64(i), 2*float64(i), 0.5, 0.25)
	}
	h.AddMetrics(Metrics{Version: 1, Epoch: 0, StabilityNMI: math.NaN(), LabelNMI: 0.3, LabelARI: 0.2, LabelPurity: 0.4})
	h.AddMetrics(Metrics{Version: 2, Epoch: 1, StabilityNMI: 0.9, LabelNMI: math.NaN(), LabelARI: math.NaN(), LabelPurity: math.NaN()})
	return h
}

func TestHistoryAddStep(t *testing.T) {
	for _, tc := range []struct {
		name       string
		steps      int
		wantPoints int
		wantStride int
	}{
		{"empty", 0, 0, 1},
		{"one", 1, 1, 1},
		{"at the cap", MaxHistoryPoints, MaxHistoryPoints, 1},
		{"one over: halved", MaxHistoryPoints + 1, (MaxHistoryPoints + 1) / 2, 2},
		{"long run", 10 * MaxHistoryPoints, 10 * MaxHistoryPoints / 16, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &History{}
			for i := range tc.steps {
				h.AddStep(i/100, float64(i), 0, 0, 0)
			}
			if len(h.Steps) != tc.wantPoints || (tc.steps > 0 && h.Stride != tc.wantStride) {
				t.Fatalf("%d steps: %d points of stride %d, want %d of stride %d", tc.steps, len(h.Steps), h.Stride, tc.wantPoints, tc.wantStride)
			}
			if len(h.Steps) > MaxHistoryPoints {
				t.Fatalf("%d points over the cap", len(h.Steps))
			}
			// Each point is the mean of the loss of its Stride steps, 0..n-1.
			for j, p := range h.Steps {
				want := float64(j*h.Stride) + float64(h.Stride-1)/2
				if p.LossSuper != want {
					t.Fatalf("point %d: %v, want %v", j, p.LossSuper, want)
				}
			}
		})
	}
}

func TestHistoryAddMetricsReplacesVersion(t *testing.T) {
	h := &History{}
	h.AddMetrics(Metrics{Version: 1, LabelNMI: 0.1})
	h.AddMetrics(Metrics{Version: 2, LabelNMI: 0.2})
	h.AddMetrics(Metrics{Version: 2, LabelNMI: 0.3})
	if len(h.Metrics) != 2 || h.Metrics[1].LabelNMI != 0.3 {
		t.Fatalf("metrics %+v", h.Metrics)
	}
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
