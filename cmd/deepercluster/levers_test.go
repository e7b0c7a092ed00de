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
		args                           []string
		wantStrong, wantRefine, noFlip bool
	}{
		{nil, false, false, false},
		{[]string{"--augment-strong"}, true, false, false},
		{[]string{"--augment-strong=false"}, false, false, false},
		{[]string{"--refine-super"}, false, true, false},
		{[]string{"--augment-strong", "--refine-super"}, true, true, false},
		{[]string{"--no-flip"}, false, false, true},
		{[]string{"--augment-strong", "--no-flip"}, true, false, true},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addRunFlags(fs, 10)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg := f.trainerConfig(trainer.Config{})
		if cfg.StrongAugment != tc.wantStrong || cfg.RefineSuper != tc.wantRefine || cfg.NoFlip != tc.noFlip {
			t.Errorf("%v: StrongAugment %v, RefineSuper %v, NoFlip %v, want %v, %v, %v", tc.args,
				cfg.StrongAugment, cfg.RefineSuper, cfg.NoFlip, tc.wantStrong, tc.wantRefine, tc.noFlip)
		}
	}
}
