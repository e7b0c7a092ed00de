package deepercluster

import (
	"testing"
)

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
