package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/internal/runlock"
	"github.com/deepercluster/deepercluster/trainer"
)

// evalResult is what eval prints as its last line.
type evalResult struct {
	RandomInit          bool    `json:"random_init"`
	ProbeAcc            float64 `json:"probe_acc"`
	ProbeTrainAcc       float64 `json:"probe_train_acc"`
	NMIKMeans10         float64 `json:"nmi_kmeans10"`
	NMIOwnClusters      float64 `json:"nmi_own_clusters"`
	LargestClusterShare float64 `json:"largest_cluster_share"`
	// SuperSizes are the sizes of the run's final super-clusters, largest
	// first; SubSizes summarises its sub-clusters (min, median, max): the
	// cluster size distribution, to see a collapse at a glance.
	SuperSizes  []int `json:"super_sizes,omitempty"`
	SubSizes    []int `json:"sub_sizes_min_median_max,omitempty"`
	TrainImages int   `json:"train_images"`
	TestImages  int   `json:"test_images"`
}

// subset is the first n images of a dataset.
type subset struct {
	deepercluster.Dataset
	n int
}

func (s subset) Len() int { return s.n }

// runEval measures a checkpoint's frozen features: a linear probe trained on
// the train split and scored on the test split, and the NMI of k-means
// (k=10) on the train features; --random-init scores the same network
// untrained.
func runEval(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "eval")
	dsName := fs.String("dataset", "fashion-mnist", "dataset with train/test splits (fashion-mnist)")
	ckDir := fs.String("checkpoint", "", "run directory holding the checkpoint")
	random := fs.Bool("random-init", false, "evaluate the same network with its initial, untrained weights")
	iters := fs.Int("probe-iters", 1000, "full-batch gradient steps of the logistic regression (300 left the probe under-fitted on 128-d features)")
	maxTrain := fs.Int("max-train", 0, "use only the first N training images (0: all)")
	maxTest := fs.Int("max-test", 0, "use only the first N test images (0: all)")
	dsFlags := addDatasetFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ckDir == "" {
		return errors.New("eval: --checkpoint RUNDIR is required")
	}
	if _, err := os.Stat(*ckDir); err != nil {
		return fmt.Errorf("eval: --checkpoint: %w", err)
	}
	// No training process may rewrite the run while it is read.
	lock, err := runlock.Acquire(*ckDir)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer lock.Release()
	if *dsName != "fashion-mnist" {
		return fmt.Errorf("eval: --dataset %q: the linear probe needs a labelled train/test split (fashion-mnist)", *dsName)
	}
	train, err := dataset.Open(*dsName, dsFlags.options(dataset.Train))
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	test, err := dataset.Open(*dsName, dsFlags.options(dataset.Test))
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	fullTrain := train
	if *maxTrain > 0 && *maxTrain < train.Len() {
		train = subset{train, *maxTrain}
	}
	if *maxTest > 0 && *maxTest < test.Len() {
		test = subset{test, *maxTest}
	}
	net, ck, err := trainer.LoadBackend(*ckDir, 32, *random, nil)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer net.Close()
	if ck.Model.Resolution != train.Resolution() {
		return fmt.Errorf("eval: checkpoint model takes %d px images, %s has %d px", ck.Model.Resolution, *dsName, train.Resolution())
	}
	d := net.FeatureDim()
	a.log.Info("extracting features", "train", train.Len(), "test", test.Len(), "random_init", *random)
	trX, err := trainer.ExtractFeatures(ctx, net, train, nil)
	if err != nil {
		return fmt.Errorf("eval: train features: %w", err)
	}
	teX, err := trainer.ExtractFeatures(ctx, net, test, nil)
	if err != nil {
		return fmt.Errorf("eval: test features: %w", err)
	}
	trY, classes, err := trainer.Labels(train)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	teY, _, err := trainer.Labels(test)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	res := evalResult{RandomInit: *random, TrainImages: train.Len(), TestImages: test.Len(), NMIOwnClusters: math.NaN(), LargestClusterShare: math.NaN()}
	pr, err := trainer.LinearProbe(ctx, trX, trY, teX, teY, d, classes, trainer.ProbeConfig{Iters: *iters})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	res.ProbeAcc, res.ProbeTrainAcc = pr.TestAcc, pr.TrainAcc
	if res.NMIKMeans10, err = trainer.KMeansNMI(ctx, trX, train.Len(), d, 10, trY, 1); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	// The run's own final clusters, when it was trained on this train split.
	if !*random && ck.Version > 0 {
		asg, err := trainer.LoadAssignment(*ckDir, ck.Version)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		// train --max-images N trains on the first N images of the split.
		if len(asg.Sub) <= fullTrain.Len() {
			all, _, _ := trainer.Labels(fullTrain)
			res.NMIOwnClusters = cluster.NMI(asg.Sub, all[:len(asg.Sub)])
			// Collapse check: the largest super-cluster (the largest
			// sub-cluster when there is one super-cluster).
			supers, subs := asg.Sizes()
			res.SuperSizes = sortedDesc(supers)
			if ss := sortedDesc(subs); len(ss) > 0 {
				res.SubSizes = []int{ss[len(ss)-1], ss[len(ss)/2], ss[0]}
			}
			if asg.M == 1 {
				supers = subs
			}
			largest := 0
			for _, s := range supers {
				largest = max(largest, s)
			}
			res.LargestClusterShare = float64(largest) / float64(len(asg.Sub))
		}
	}
	a.log.Info("linear probe", "test_acc", res.ProbeAcc, "train_acc", res.ProbeTrainAcc, "nmi_kmeans10", res.NMIKMeans10,
		"nmi_own_clusters", res.NMIOwnClusters, "largest_cluster_share", res.LargestClusterShare, "super_sizes", res.SuperSizes)
	b, err := json.Marshal(jsonSafe(res))
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, string(b))
	return nil
}

// sortedDesc returns a sorted copy, largest first.
func sortedDesc(v []int) []int {
	out := slices.Clone(v)
	slices.SortFunc(out, func(a, b int) int { return b - a })
	return out
}

// jsonSafe turns NaN (unknown) into -1, which JSON can carry.
func jsonSafe(r evalResult) evalResult {
	for _, p := range []*float64{&r.ProbeAcc, &r.ProbeTrainAcc, &r.NMIKMeans10, &r.NMIOwnClusters, &r.LargestClusterShare} {
		if math.IsNaN(*p) {
			*p = -1
		}
	}
	return r
}
