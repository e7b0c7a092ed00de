package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/dataset/source"
	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/internal/npy"
	"github.com/deepercluster/deepercluster/internal/runlock"
	"github.com/deepercluster/deepercluster/trainer"
)

// evalResult is what eval prints as its last line.
type evalResult struct {
	// Split is the split scored: "val" (the last ValImages images of the
	// train split) or "test" (the test split).
	Split      string `json:"split"`
	RandomInit bool   `json:"random_init"`
	// BNReestimated says that an untrained network's batch-norm running
	// statistics were re-estimated on training images before evaluation.
	BNReestimated bool `json:"bn_reestimated"`
	// Features names where the features came from: a checkpoint's network,
	// or a directory of .npy files (a peer's).
	Features       string  `json:"features"`
	ProbeAcc       float64 `json:"probe_acc"`
	ProbeTrainAcc  float64 `json:"probe_train_acc"`
	ProbeIters     int     `json:"probe_iters"`
	ProbeConverged bool    `json:"probe_converged"`
	// NMIKMeans10, ACCKMeans10 and ARIKMeans10 score k-means (k=10) of the
	// scored split's features against its labels.
	NMIKMeans10 float64 `json:"nmi_kmeans10"`
	ACCKMeans10 float64 `json:"acc_kmeans10"`
	ARIKMeans10 float64 `json:"ari_kmeans10"`
	// NMIOwnClusters scores the run's own final sub-clusters (m*k of them,
	// not comparable with the k=10 figures) on its training images.
	NMIOwnClusters      float64 `json:"nmi_own_clusters"`
	LargestClusterShare float64 `json:"largest_cluster_share"`
	// SuperSizes are the sizes of the run's final super-clusters, largest
	// first; SubSizes summarises its sub-clusters (min, median, max): the
	// cluster size distribution, to see a collapse at a glance.
	SuperSizes []int `json:"super_sizes,omitempty"`
	// Epochs is the number of epochs the checkpoint completed.
	Epochs      int   `json:"epochs"`
	SubSizes    []int `json:"sub_sizes_min_median_max,omitempty"`
	TrainImages int   `json:"train_images"`
	TestImages  int   `json:"test_images"`
	// NMIKMeans10Refined, ACCKMeans10Refined and ARIKMeans10Refined score
	// the neighbour-consistency refinement (--refine,
	// cluster.RefineNeighbours), fitted, its labels unseen, on the scored
	// split's own features (--refine-fit split, the default, as k-means(10)
	// is) or on the training images' (train). It goes beyond
	// DeeperCluster, so it is a column of its own beside the plain k-means
	// figures; absent without --refine.
	NMIKMeans10Refined *float64 `json:"nmi_kmeans10_refined,omitempty"`
	ACCKMeans10Refined *float64 `json:"acc_kmeans10_refined,omitempty"`
	ARIKMeans10Refined *float64 `json:"ari_kmeans10_refined,omitempty"`
	// RefineConfident is the share of the fitted images confident enough
	// for the refinement's self-labelling; Refine echoes its settings.
	RefineConfident *float64               `json:"refine_confident,omitempty"`
	Refine          *cluster.RefineOptions `json:"refine,omitempty"`
	// RefineFit says which features the refinement was fitted on: split
	// (the scored split's own) or train (eval --refine-fit).
	RefineFit string `json:"refine_fit,omitempty"`
	// RefineLoss is the kept refinement's SCAN loss and RefineStartLosses
	// every start's (labels unseen), in start order: starts with nearly
	// equal losses fell into one basin.
	RefineLoss        float64   `json:"refine_loss,omitempty"`
	RefineStartLosses []float64 `json:"refine_start_losses,omitempty"`
	// RefinePixels and RefinePixelsDim echo --refine-pixels and its
	// dimension when the refinement clustered the features with the
	// images' own pixels beside them.
	RefinePixels    float64 `json:"refine_pixels,omitempty"`
	RefinePixelsDim int     `json:"refine_pixels_dim,omitempty"`
	// RefineStages and RefineStagesDim echo --refine-stages and its
	// dimension when the refinement clustered the features with the
	// network's convolution stages beside them; RefineStageWidths is the
	// width of each of the network's stages before the whitening.
	RefineStages      []int `json:"refine_stages,omitempty"`
	RefineStagesDim   int   `json:"refine_stages_dim,omitempty"`
	RefineStageWidths []int `json:"refine_stage_widths,omitempty"`
}

// ValImages is the size of the validation split: the last images of
// the train split (Fashion-MNIST's or MNIST's), never trained on by the quality protocol
// (train --max-images 50000), on which every setting is chosen; the test
// split is scored only by the final benchmark.
const ValImages = 10000

// subset is the images [off, off+n) of a dataset.
type subset struct {
	deepercluster.Dataset
	off, n int
}

func (s subset) Len() int { return s.n }

func (s subset) Image(i int, dst []byte) error { return s.Dataset.Image(s.off+i, dst) }

func (s subset) Meta(i int) deepercluster.Meta { return s.Dataset.Meta(s.off + i) }

func (s subset) Label(i int) (int, bool) { return s.Dataset.Label(s.off + i) }

// runEval measures frozen features by the quality protocol: a linear probe
// (L-BFGS to convergence) fitted on the training images and scored on the
// split (--split val: the last 10,000 train images; test: the test split),
// and k-means (k=10) of the split's features scored by NMI, ACC and ARI.
// Features come from a checkpoint's network (--random-init: the same
// network untrained, its batch-norm statistics re-estimated) or, for a
// peer, from .npy files (--features DIR: train.npy and eval.npy).
func runEval(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "eval")
	dsName := fs.String("dataset", "fashion-mnist", "dataset with train/test splits (fashion-mnist or mnist)")
	ckDir := fs.String("checkpoint", "", "run directory holding the checkpoint")
	featDir := fs.String("features", "", "score the features in DIR/train.npy and DIR/eval.npy (a peer's) instead of a checkpoint's")
	dumpDir := fs.String("dump-features", "", "also write the features scored to DIR/train.npy and DIR/eval.npy")
	split := fs.String("split", "val", "split to score: val (the default: the last 10000 train images, on which every setting is chosen) or test (the final run only: ask for it)")
	random := fs.Bool("random-init", false, "evaluate the same network with its initial, untrained weights (batch-norm statistics re-estimated)")
	bnSteps := fs.Int("bn-steps", 200, "--random-init: training-mode batches of 64 that re-estimate the batch-norm statistics")
	relu := fs.Bool("relu", true, "score the features after the ReLU (h = ReLU(f(x)), what the heads see; chosen on the validation split) rather than before")
	l2 := fs.Float64("probe-l2", 1e-4, "L2 penalty of the linear probe on standardised features")
	kmPCA := fs.Int("kmeans-pca", 0, "k-means(10) on the features PCA-whitened to N dimensions (fitted on the training images) and L2-normalised, as the method clusters (0: the features themselves, L2-normalised)")
	restarts := fs.Int("kmeans-restarts", 10, "k-means(10) starts, the one with the lowest objective is scored")
	maxTrain := fs.Int("max-train", 0, "use only the first N training images (0: all 50000)")
	maxTest := fs.Int("max-test", 0, "score only the first N images of the split (0: all 10000)")
	probe := fs.Bool("probe", true, "fit and score the linear probe (false: k-means figures only, probe_acc -1; for quick iterations on the refinement)")
	refine := fs.Bool("refine", false, "also score the neighbour-consistency refinement (SCAN-style, cluster.RefineNeighbours) fitted on the training images' features: *_kmeans10_refined keys")
	var ro cluster.RefineOptions
	fs.IntVar(&ro.Neighbours, "refine-neighbours", 20, "--refine: nearest neighbours of each training image")
	fs.IntVar(&ro.Diffuse, "refine-diffuse", 0, "--refine: feature diffusion steps over the neighbour graph before clustering (0: none)")
	fs.Float64Var(&ro.Alpha, "refine-alpha", 0.5, "--refine: weight of the neighbours' mean in a diffusion step")
	fs.IntVar(&ro.Steps, "refine-steps", 1000, "--refine: Adam steps of the neighbour-consistency objective (-1: none; 1000 chosen on the validation split, docs/QUALITY.md)")
	fs.Float64Var(&ro.EntropyWeight, "refine-entropy", 5, "--refine: weight of the balancing entropy")
	fs.Float64Var(&ro.Threshold, "refine-threshold", 0.9, "--refine: top probability that makes an image confident for self-labelling (above 1: no self-labelling)")
	fs.IntVar(&ro.SelfLabelSteps, "refine-self-steps", 100, "--refine: Adam steps of self-labelling (-1: none)")
	fs.Float64Var(&ro.LR, "refine-lr", 0.05, "--refine: Adam learning rate of the head")
	fs.Float64Var(&ro.Temperature, "refine-temperature", 1, "--refine: softness of the k-means start (relative to the mean squared distance to the own centroid)")
	fs.IntVar(&ro.Restarts, "refine-restarts", 0, "--refine: k-means++ runs behind each refinement start, the lowest objective kept (0: --kmeans-restarts)")
	fs.IntVar(&ro.Starts, "refine-starts", 6, "--refine: refinements from different k-means starts, one kept by --refine-pick (labels unseen; 6 chosen on the validation split, docs/QUALITY.md)")
	fs.Uint64Var(&ro.Seed, "refine-seed", 1, "--refine: seed of the refinement's k-means starts (another seed gives other starts; the spread over seeds is how stable the kept basin is)")
	ro.Pick = cluster.PickLoss
	fs.Var(&refinePick{&ro.Pick}, "refine-pick", "--refine: which of the --refine-starts refinements is kept: loss (the lowest SCAN loss) or agreement (the clustering that agrees most with the other starts'; labels unseen)")
	refinePixels := fs.Float64("refine-pixels", 0, "--refine --refine-fit split: weight of the scored images' own pixels, PCA-whitened to --refine-pixels-dim dimensions (fitted on the split, labels unseen), beside the L2-normalised features the refinement clusters (0: the features alone)")
	refinePixelsDim := fs.Int("refine-pixels-dim", 64, "--refine-pixels: principal components of the pixels kept")
	refineStages := fs.String("refine-stages", "", "--refine --refine-fit split: the network's convolution stages (numbered from 1, comma-separated, e.g. 2 or 1,2,3) whose output (after the stage's max-pool) for the scored images is PCA-whitened to --refine-stages-dim dimensions (fitted on the split, labels unseen) and set at unit length beside the L2-normalised features the refinement clusters (empty: none; --features DIR reads DIR/eval_stage1.npy, ...)")
	refineStagesDim := fs.Int("refine-stages-dim", 64, "--refine-stages: principal components kept of each stage (at most the stage's width)")
	refineFit := fs.String("refine-fit", "split", "--refine: the features the refinement is fitted on: split (the scored split's own, as k-means(10) is; labels unseen; chosen on the validation split, docs/QUALITY.md) or train (the training images', the fitted head then clusters the split)")
	dsFlags := addDatasetFlags(fs)
	dev := addDeviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*ckDir == "") == (*featDir == "") {
		return errors.New("eval: give one of --checkpoint RUNDIR or --features DIR")
	}
	if *refineFit != "split" && *refineFit != "train" {
		return fmt.Errorf("eval: --refine-fit %q: want split or train", *refineFit)
	}
	if *refinePixels < 0 || math.IsNaN(*refinePixels) {
		return fmt.Errorf("eval: --refine-pixels %v: want a weight of 0 or more", *refinePixels)
	}
	if *refinePixels > 0 && *refineFit != "split" {
		return errors.New("eval: --refine-pixels goes with --refine-fit split: the pixels are the scored images' own")
	}
	stageList, err := parseStages(*refineStages)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if *refineStagesDim < 1 {
		return fmt.Errorf("eval: --refine-stages-dim %d: want 1 or more", *refineStagesDim)
	}
	if stageList != nil && *refineFit != "split" {
		return errors.New("eval: --refine-stages goes with --refine-fit split: the activations are the scored images' own")
	}
	var stages *stageRows
	if *refine && stageList != nil {
		stages = &stageRows{}
	}
	if *split != "val" && *split != "test" {
		return fmt.Errorf("eval: --split %q: want val or test", *split)
	}
	if *dsName != source.SpecFashionMNIST && *dsName != source.SpecMNIST {
		return fmt.Errorf("eval: --dataset %q: the linear probe needs a labelled train/test split (fashion-mnist or mnist)", *dsName)
	}
	full, err := source.Open(*dsName, dsFlags.options(fashionmnist.Train))
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	nTrain := full.Len() - ValImages
	if nTrain < 1 {
		return fmt.Errorf("eval: the train split holds %d images: the protocol needs more than the %d of its validation split", full.Len(), ValImages)
	}
	var train, scored deepercluster.Dataset = subset{full, 0, nTrain}, subset{full, nTrain, ValImages}
	if *split == "test" {
		if scored, err = source.Open(*dsName, dsFlags.options(fashionmnist.Test)); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	if *maxTrain > 0 && *maxTrain < train.Len() {
		train = subset{full, 0, *maxTrain}
	}
	if *maxTest > 0 && *maxTest < scored.Len() {
		scored = subset{scored, 0, *maxTest}
	}
	res := evalResult{Split: *split, RandomInit: *random, TrainImages: train.Len(), TestImages: scored.Len(),
		NMIOwnClusters: math.NaN(), LargestClusterShare: math.NaN()}
	var trX, teX []float32
	var d int
	if *featDir != "" {
		res.Features = *featDir
		if trX, teX, d, err = readFeatures(*featDir, train.Len(), scored.Len()); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		if stages != nil {
			if *stages, err = readStages(*featDir, scored.Len()); err != nil {
				return fmt.Errorf("eval: --refine-stages: %w", err)
			}
		}
	} else {
		res.Features = "checkpoint"
		if trX, teX, d, err = checkpointFeatures(ctx, a, *ckDir, *dev, train, scored, *random, *bnSteps, stages, &res); err != nil {
			return err
		}
	}
	if *relu {
		for _, x := range [][]float32{trX, teX} {
			for i, v := range x {
				x[i] = max(v, 0)
			}
		}
	}
	if *dumpDir != "" {
		if err := os.MkdirAll(*dumpDir, 0o755); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		errs := []error{npy.Write(filepath.Join(*dumpDir, "train.npy"), train.Len(), d, trX),
			npy.Write(filepath.Join(*dumpDir, "eval.npy"), scored.Len(), d, teX)}
		if stages != nil {
			for i, x := range stages.x {
				errs = append(errs, npy.Write(filepath.Join(*dumpDir, stageFile(i)), scored.Len(), stages.dims[i], x))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("eval: --dump-features: %w", err)
		}
	}
	trY, classes, err := trainer.Labels(train)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	teY, _, err := trainer.Labels(scored)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if *probe {
		a.log.Info("linear probe", "train", train.Len(), "scored", scored.Len(), "dim", d)
		pr, err := trainer.LinearProbe(ctx, trX, trY, teX, teY, d, classes, trainer.ProbeConfig{L2: *l2})
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		res.ProbeAcc, res.ProbeTrainAcc, res.ProbeIters, res.ProbeConverged = pr.TestAcc, pr.TrainAcc, pr.Iters, pr.Converged
	} else {
		res.ProbeAcc, res.ProbeTrainAcc = math.NaN(), math.NaN()
	}
	a.log.Info("k-means(10)", "images", scored.Len(), "restarts", *restarts)
	kmX, kmTrain, kmD := teX, trX, d
	if *kmPCA > 0 {
		p, err := cluster.FitPCA(ctx, trX, train.Len(), d, *kmPCA, cluster.PCAOptions{Seed: 1})
		if err != nil {
			return fmt.Errorf("eval: --kmeans-pca: %w", err)
		}
		if kmX, err = p.Apply(teX, scored.Len()); err != nil {
			return fmt.Errorf("eval: --kmeans-pca: %w", err)
		}
		if *refine && *refineFit == "train" {
			if kmTrain, err = p.Apply(trX, train.Len()); err != nil {
				return fmt.Errorf("eval: --kmeans-pca: %w", err)
			}
		}
		kmD = *kmPCA
	}
	if *refine {
		refX, refD := kmX, kmD
		if *refineFit == "split" {
			kmTrain = nil
			var blocks []rowBlock
			if *refinePixels > 0 {
				b, err := pixelBlock(ctx, scored, *refinePixelsDim, *refinePixels)
				if err != nil {
					return fmt.Errorf("eval: %w", err)
				}
				blocks = append(blocks, b)
				res.RefinePixels, res.RefinePixelsDim = *refinePixels, *refinePixelsDim
			}
			if stages != nil {
				sb, err := stages.blocks(stageList, *refineStagesDim)
				if err != nil {
					return fmt.Errorf("eval: %w", err)
				}
				blocks = append(blocks, sb...)
				res.RefineStages, res.RefineStagesDim, res.RefineStageWidths = stageList, *refineStagesDim, stages.dims
			}
			if len(blocks) > 0 {
				if refX, refD, err = refineRows(ctx, kmX, scored.Len(), kmD, blocks); err != nil {
					return fmt.Errorf("eval: %w", err)
				}
			}
		}
		if err := scoreRefined(ctx, a, kmTrain, train.Len(), refX, scored.Len(), refD, teY, ro, *restarts, &res); err != nil {
			return err
		}
	}
	sc, _, err := trainer.KMeansScores(ctx, kmX, scored.Len(), kmD, 10, teY, 1, *restarts)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	res.NMIKMeans10, res.ACCKMeans10, res.ARIKMeans10 = sc.NMI, sc.ACC, sc.ARI
	a.log.Info("eval", "split", res.Split, "probe_acc", res.ProbeAcc, "probe_train_acc", res.ProbeTrainAcc,
		"probe_iters", res.ProbeIters, "probe_converged", res.ProbeConverged, "nmi_kmeans10", res.NMIKMeans10,
		"acc_kmeans10", res.ACCKMeans10, "ari_kmeans10", res.ARIKMeans10, "nmi_own_clusters", res.NMIOwnClusters,
		"largest_cluster_share", res.LargestClusterShare, "super_sizes", res.SuperSizes)
	b, err := json.Marshal(jsonSafe(res))
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, string(b))
	return nil
}

// scoreRefined fits the neighbour-consistency refinement, its labels
// unseen, on the training images' features (trX) and clusters the scored
// split with it, or, when trX is nil, fits it on the split's own features
// (teX) as k-means(10) is; then scores the split's clustering against its
// labels.
func scoreRefined(ctx context.Context, a *app, trX []float32, nTrain int, teX []float32, nScored, d int, teY []int32, ro cluster.RefineOptions, restarts int, res *evalResult) error {
	ro.K = 10
	if ro.Restarts <= 0 {
		ro.Restarts = restarts
	}
	fit, fitX, nFit := "train", trX, nTrain
	if trX == nil {
		fit, fitX, nFit = "split", teX, nScored
	}
	a.log.Info("refinement", "fit", fit, "rows", nFit, "scored", nScored, "neighbours", ro.Neighbours, "diffuse", ro.Diffuse,
		"steps", ro.Steps, "starts", ro.Starts, "threshold", ro.Threshold, "self_steps", ro.SelfLabelSteps)
	r, err := cluster.RefineNeighbours(ctx, fitX, nFit, d, ro)
	if err != nil {
		return fmt.Errorf("eval: --refine: %w", err)
	}
	asg := r.Assigned
	if fit == "train" {
		if asg, err = r.Assign(ctx, teX, nScored); err != nil {
			return fmt.Errorf("eval: --refine: %w", err)
		}
	}
	nmi, acc, ari := cluster.NMI(asg, teY), cluster.Accuracy(asg, teY), cluster.ARI(asg, teY)
	conf := float64(r.Confident) / float64(nFit)
	res.NMIKMeans10Refined, res.ACCKMeans10Refined, res.ARIKMeans10Refined, res.RefineConfident = &nmi, &acc, &ari, &conf
	res.Refine, res.RefineFit, res.RefineLoss, res.RefineStartLosses = &ro, fit, r.Loss, r.StartLosses
	a.log.Info("refined", "nmi", nmi, "acc", acc, "ari", ari, "confident", conf, "scan_loss", r.Loss)
	return nil
}

// readFeatures loads a peer's features: dir/train.npy (one row per training
// image) and dir/eval.npy (one per scored image), of the same width.
func readFeatures(dir string, nTrain, nScored int) (trX, teX []float32, d int, err error) {
	rows, d, trX, err := npy.Read[float32](filepath.Join(dir, "train.npy"))
	if err != nil {
		return nil, nil, 0, err
	}
	if rows < nTrain {
		return nil, nil, 0, fmt.Errorf("%s: %d rows, want %d (one per training image)", filepath.Join(dir, "train.npy"), rows, nTrain)
	}
	rowsE, dE, teX, err := npy.Read[float32](filepath.Join(dir, "eval.npy"))
	if err != nil {
		return nil, nil, 0, err
	}
	if rowsE < nScored || dE != d {
		return nil, nil, 0, fmt.Errorf("%s: %d x %d, want %d rows of %d (one per scored image, as wide as train.npy)",
			filepath.Join(dir, "eval.npy"), rowsE, dE, nScored, d)
	}
	return trX[:nTrain*d], teX[:nScored*d], d, nil
}

// checkpointFeatures extracts the features of both sets with a checkpoint's
// network (or the same network untrained, its batch-norm statistics
// re-estimated), and fills in what the run's own clusters say.
// When stages is not nil it also gets each convolution stage's output of
// the scored images (eval --refine-stages).
func checkpointFeatures(ctx context.Context, a *app, ckDir, dev string, train, scored deepercluster.Dataset, random bool, bnSteps int, stages *stageRows, res *evalResult) (trX, teX []float32, d int, err error) {
	if _, err := os.Stat(ckDir); err != nil {
		return nil, nil, 0, fmt.Errorf("eval: --checkpoint: %w", err)
	}
	// No training process may rewrite the run while it is read.
	lock, err := runlock.Acquire(ckDir)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("eval: %w", err)
	}
	defer lock.Release()
	comp, err := gpu.OpenCompute(dev, a.log)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("eval: %w", err)
	}
	defer comp.Close()
	net, ck, err := trainer.LoadBackend(ckDir, trainer.LoadOptions{RandomInit: random, NewBackend: comp.NewBackend})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("eval: %w", err)
	}
	defer net.Close()
	if ck.Model.Resolution != train.Resolution() {
		return nil, nil, 0, fmt.Errorf("eval: checkpoint model takes %d px images, the dataset has %d px", ck.Model.Resolution, train.Resolution())
	}
	if random && bnSteps > 0 {
		a.log.Info("re-estimating batch-norm statistics of the untrained network", "batches", bnSteps, "batch", trainer.BNBatch)
		if err := trainer.ReestimateBN(ctx, net, train, bnSteps, ck.Seed); err != nil {
			return nil, nil, 0, fmt.Errorf("eval: %w", err)
		}
		res.BNReestimated = true
	}
	d = net.FeatureDim()
	res.Epochs = ck.Epoch
	a.log.Info("extracting features", "train", train.Len(), "scored", scored.Len(), "random_init", random)
	if trX, err = trainer.ExtractFeatures(ctx, net, train, nil); err != nil {
		return nil, nil, 0, fmt.Errorf("eval: train features: %w", err)
	}
	if teX, err = trainer.ExtractFeatures(ctx, net, scored, nil); err != nil {
		return nil, nil, 0, fmt.Errorf("eval: scored features: %w", err)
	}
	if stages != nil {
		se, ok := net.(trainer.StageExtractor)
		if !ok {
			// Only the CPU backend gives its stages: load the same weights
			// on it (an untrained network would need its batch-norm
			// statistics re-estimated again, so that is refused).
			if random {
				return nil, nil, 0, fmt.Errorf("eval: --refine-stages with --random-init: the %s backend does not give its stages; run with --device cpu", comp.Info.Kind)
			}
			onCPU, _, err := trainer.LoadBackend(ckDir, trainer.LoadOptions{})
			if err != nil {
				return nil, nil, 0, fmt.Errorf("eval: --refine-stages: %w", err)
			}
			defer onCPU.Close()
			if se, ok = onCPU.(trainer.StageExtractor); !ok {
				return nil, nil, 0, errors.New("eval: --refine-stages: the CPU backend does not give its stages")
			}
		}
		stages.dims = se.StageDims()
		if stages.x, err = trainer.ExtractStages(ctx, se, scored, nil); err != nil {
			return nil, nil, 0, fmt.Errorf("eval: scored stages: %w", err)
		}
	}
	// The run's own final clusters, on the images it was trained on (train
	// --max-images N trains on the first N images of the split).
	if random || ck.Version == 0 {
		return trX, teX, d, nil
	}
	asg, err := trainer.LoadAssignment(ckDir, ck.Version)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("eval: %w", err)
	}
	if len(asg.Sub) > train.Len() {
		return trX, teX, d, nil
	}
	all, _, err := trainer.Labels(train)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("eval: %w", err)
	}
	res.NMIOwnClusters = cluster.NMI(asg.Sub, all[:len(asg.Sub)])
	// Collapse check: the largest super-cluster (the largest sub-cluster
	// when there is one super-cluster).
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
	return trX, teX, d, nil
}

// sortedDesc returns a sorted copy, largest first.
func sortedDesc(v []int) []int {
	out := slices.Clone(v)
	slices.SortFunc(out, func(a, b int) int { return b - a })
	return out
}

// jsonSafe turns NaN (unknown) into -1, which JSON can carry.
func jsonSafe(r evalResult) evalResult {
	for _, p := range []*float64{&r.ProbeAcc, &r.ProbeTrainAcc, &r.NMIKMeans10, &r.ACCKMeans10, &r.ARIKMeans10, &r.NMIOwnClusters, &r.LargestClusterShare} {
		if math.IsNaN(*p) {
			*p = -1
		}
	}
	return r
}

// refinePick is --refine-pick, a cluster.Pick checked as it is parsed.
type refinePick struct{ p *cluster.Pick }

func (f *refinePick) String() string {
	if f.p == nil {
		return ""
	}
	return string(*f.p)
}

func (f *refinePick) Set(s string) error {
	switch p := cluster.Pick(s); p {
	case cluster.PickLoss, cluster.PickAgreement:
		*f.p = p
		return nil
	}
	return fmt.Errorf("want %s or %s", cluster.PickLoss, cluster.PickAgreement)
}
