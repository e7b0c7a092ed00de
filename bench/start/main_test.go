package main

import "testing"

// TestLogValue reads the figures bench-start reports from serve's slog
// text lines: the first line of a message, quoted messages, durations
// kept as text, absent keys and messages.
func TestLogValue(t *testing.T) {
	const log = `time=2026-12-06T20:05:08.684Z level=INFO msg=reclustered version=1 epoch=0 extract_s=151.25 pca_s=2.5 kmeans_s=20.75
time=2026-12-06T20:05:12.344Z level=INFO msg="index built" dir=/tmp/x images=20000 version=1 took=3.638s
time=2026-12-06T20:06:12.344Z level=INFO msg=reclustered version=2 epoch=3 extract_s=9 pca_s=1 kmeans_s=2
time=2026-12-06T20:07:00.000Z level=INFO msg="layout computed" version=1 knn_s=12.5 embed_s=30.1 threads=2
time=2026-12-06T20:07:00.100Z level=INFO msg="training resumed" version=1 held_s=42.46 map_ready=true`
	cases := []struct {
		msg, key string
		text     string
		seconds  float64
	}{
		{"reclustered", "extract_s", "151.25", 151.3},
		{"reclustered", "kmeans_s", "20.75", 20.8},
		{"index built", "took", "3.638s", 0},
		{"layout computed", "embed_s", "30.1", 30.1},
		{"layout computed", "missing", "", 0},
		{"training resumed", "held_s", "42.46", 42.5},
		{"layout ready", "took", "", 0},
		{"index", "took", "", 0}, // a message is matched whole
	}
	for _, c := range cases {
		t.Run(c.msg+"/"+c.key, func(t *testing.T) {
			if got := logValue(log, c.msg, c.key); got != c.text {
				t.Fatalf("logValue %q, want %q", got, c.text)
			}
			if got := logField(log, c.msg, c.key); got != c.seconds {
				t.Fatalf("logField %v, want %v", got, c.seconds)
			}
		})
	}
}
