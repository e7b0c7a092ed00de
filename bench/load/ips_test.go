package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestIPSOrder: train first in the first pair, serve first in the
// second, alternating from then on.
func TestIPSOrder(t *testing.T) {
	for _, c := range []struct {
		pair int
		want [2]string
	}{
		{0, [2]string{"train", "serve"}},
		{1, [2]string{"serve", "train"}},
		{2, [2]string{"train", "serve"}},
		{5, [2]string{"serve", "train"}},
	} {
		if got := ipsOrder(c.pair); got != c.want {
			t.Errorf("ipsOrder(%d) = %v, want %v", c.pair, got, c.want)
		}
	}
}

// TestSummarizeIPS: medians over the quiet pairs only, the ratio from
// each quiet pair's own, every run listed in order, null figures when no
// pair was quiet.
func TestSummarizeIPS(t *testing.T) {
	q := func(ips float64) ipsMeasurement { return ipsMeasurement{IPS: ips, OthersCPUShare: 0.02} }
	busy := func(ips, share float64) ipsMeasurement { return ipsMeasurement{IPS: ips, OthersCPUShare: share} }
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		name  string
		pairs []ipsPair
		want  IPSSummary
	}{
		{"one quiet pair", []ipsPair{{q(2000), q(1900)}},
			IPSSummary{TrainIPS: f(2000), ServeTrainIPS: f(1900), ServeTrainRatio: f(0.95), IPSPairs: 1, IPSPairsQuiet: 1,
				TrainIPSRuns: []float64{2000}, ServeTrainIPSRuns: []float64{1900}, OthersCPUShareMax: 0.02}},
		// Two pairs: the median is the mean of the two; the ratio is the
		// median of 0.9 and 1.05, not 1950/1800.
		{"two quiet pairs", []ipsPair{{q(2000), q(1800)}, {q(1600), q(1680)}},
			IPSSummary{TrainIPS: f(1800), ServeTrainIPS: f(1740), ServeTrainRatio: f(0.975), IPSPairs: 2, IPSPairsQuiet: 2,
				TrainIPSRuns: []float64{2000, 1600}, ServeTrainIPSRuns: []float64{1800, 1680}, OthersCPUShareMax: 0.02}},
		// A pair is out when either side was busy, whichever; 0.10 itself is busy.
		{"busy serve, busy train", []ipsPair{{q(2000), busy(900, 0.3)}, {q(1700), q(1700)}, {busy(1000, 0.1), q(1650)}},
			IPSSummary{TrainIPS: f(1700), ServeTrainIPS: f(1700), ServeTrainRatio: f(1), IPSPairs: 3, IPSPairsQuiet: 1,
				TrainIPSRuns: []float64{2000, 1700, 1000}, ServeTrainIPSRuns: []float64{900, 1700, 1650}, OthersCPUShareMax: 0.3}},
		{"three quiet pairs, odd median", []ipsPair{{q(2000), q(1900)}, {q(1500), q(1600)}, {q(1800.04), q(1700)}},
			IPSSummary{TrainIPS: f(1800), ServeTrainIPS: f(1700), ServeTrainRatio: f(0.95), IPSPairs: 3, IPSPairsQuiet: 3,
				TrainIPSRuns: []float64{2000, 1500, 1800}, ServeTrainIPSRuns: []float64{1900, 1600, 1700}, OthersCPUShareMax: 0.02}},
		{"no quiet pair", []ipsPair{{busy(1000, 0.45), q(1500)}, {q(1900), busy(800, 0.123456)}},
			IPSSummary{IPSPairs: 2, TrainIPSRuns: []float64{1000, 1900}, ServeTrainIPSRuns: []float64{1500, 800}, OthersCPUShareMax: 0.45}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := summarizeIPS(c.pairs)
			if !reflect.DeepEqual(got, c.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(c.want)
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

// TestSummarizeIPSJSON: the keys the issue names, null figures without a
// quiet pair and the runs as lists.
func TestSummarizeIPSJSON(t *testing.T) {
	b, err := json.Marshal(summarizeIPS([]ipsPair{{ipsMeasurement{1000, 0.5}, ipsMeasurement{900, 0}}}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"train_ips":null,"serve_train_ips":null,"serve_train_ratio":null,"ips_pairs":1,"ips_pairs_quiet":0,"train_ips_runs":[1000],"serve_train_ips_runs":[900],"others_cpu_share_max":0.5}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
