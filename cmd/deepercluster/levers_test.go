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
		args                   []string
		wantStrong, wantRefine bool
	}{
		{nil, false, false},
		{[]string{"--augment-strong"}, true, false},
		{[]string{"--augment-strong=false"}, false, false},
		{[]string{"--refine-super"}, false, true},
		{[]string{"--augment-strong", "--refine-super"}, true, true},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addRunFlags(fs, 10)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg := f.trainerConfig(trainer.Config{})
		if cfg.StrongAugment != tc.wantStrong || cfg.RefineSuper != tc.wantRefine {
			t.Errorf("%v: StrongAugment %v, RefineSuper %v, want %v, %v", tc.args, cfg.StrongAugment, cfg.RefineSuper, tc.wantStrong, tc.wantRefine)
		}
	}
}
