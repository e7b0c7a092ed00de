package main

import (
	"flag"
	"io"
	"testing"

	"github.com/deepercluster/deepercluster/trainer"
)

// TestLeverFlags checks that issue 28's levers are off unless asked for
// and reach the trainer's configuration when they are.
func TestLeverFlags(t *testing.T) {
	tests := []struct {
		args       []string
		wantStrong bool
	}{
		{nil, false},
		{[]string{"--augment-strong"}, true},
		{[]string{"--augment-strong=false"}, false},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addRunFlags(fs, 10)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := f.trainerConfig(trainer.Config{}).StrongAugment; got != tc.wantStrong {
			t.Errorf("%v: StrongAugment %v, want %v", tc.args, got, tc.wantStrong)
		}
	}
}
