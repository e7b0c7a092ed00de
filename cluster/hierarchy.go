package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"math"

	"github.com/deepercluster/deepercluster"
)

// HierarchyConfig configures Hierarchy.
type HierarchyConfig struct {
	// Preset picks the method. DeepCluster forces M = 1 (one super-cluster,
	// K sub-clusters), RotNet forces K = 1 (the super-clusters only); with
	// DeeperCluster both levels run. M or K left 0 take the preset's value;
	// a value that contradicts the preset is an error.
	Preset deepercluster.Preset
	// M is the number of super-clusters, K the number of sub-clusters inside
	// each (clamped to the super-cluster's size).
	M, K int
	// PCADim is the dimension after PCA with whitening; 0 skips PCA (the
	// features are only L2-normalised). Larger than the feature dimension,
	// it is clamped to it.
	PCADim int
	// Iters is the number of Lloyd iterations per k-means; 0 means
	// DefaultIters.
	Iters int
	// Seed makes the whole hierarchy reproducible.
	Seed uint64
	// PCASample fits PCA on this many rows when there are more; 0 = all.
	PCASample int
	// Threads is the number of goroutines; 0 means GOMAXPROCS.
	Threads int
	// Logger receives notes such as clamped k; nil means slog.Default().
	Logger *slog.Logger
	// Engine, when set, runs every k-means's assignment and update steps
	// (a GPU); nil runs them on the CPU.
	Engine Engine
	// RefineSuper, when set and M > 1, makes the super-clusters those of
	// RefineNeighbours (K = M, Seed = Seed) over the clustered features
	// instead of plain k-means: each image's super-cluster agrees with its
	// nearest neighbours', so the network trains on pseudo-labels that
	// cut fewer classes (a lever of issue 28). When the refinement leaves
	// a super-cluster empty, the k-means super-clusters are kept.
	RefineSuper *RefineOptions
}

// HierarchyResult is the two-level clustering of a reclustering.
type HierarchyResult struct {
	// Assignment holds Super, Sub (global ids), M and SubParent; its
	// Version is 0, for the caller to set.
	Assignment *deepercluster.Assignment
	// Dim is the dimension of the clustered features (PCADim, or the input
	// dimension without PCA).
	Dim int
	// SuperCentroids is M x Dim; SubCentroids is len(SubParent) x Dim, in
	// global sub-cluster order.
	SuperCentroids, SubCentroids []float32
	// SuperSizes and SubSizes count the images per cluster; none is 0.
	SuperSizes, SubSizes []int
	// Clamped lists the super-clusters that had fewer images than K and so
	// got one sub-cluster per image instead.
	Clamped []int
	// SuperObjective and SubObjective are the k-means objectives of the two
	// levels (SubObjective summed over the super-clusters).
	SuperObjective, SubObjective float64
	// Splits counts the empty clusters refilled at both levels.
	Splits int
	// PCA is the fitted projection, nil when PCADim is 0.
	PCA *PCA
	// Features is the n x Dim matrix that was clustered: the input after
	// PCA with whitening and L2 normalisation (or L2 normalisation alone
	// without PCA). It never aliases the input.
	Features []float32
}

// resolve checks cfg against the preset and returns m and k.
func (cfg HierarchyConfig) resolve() (m, k int, err error) {
	m, k, err = cfg.Preset.Shape(cfg.M, cfg.K)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if m < 1 {
		return 0, 0, fmt.Errorf("%w: m = %d super-clusters, want at least 1", ErrBadInput, m)
	}
	if k < 1 {
		return 0, 0, fmt.Errorf("%w: k = %d sub-clusters, want at least 1", ErrBadInput, k)
	}
	return m, k, nil
}

// Hierarchy runs one DeeperCluster reclustering on the n x d features: PCA
// with whitening and L2 normalisation, k-means with M centroids over all
// images (super-clusters), then k-means with K centroids inside each
// super-cluster (sub-clusters, numbered globally: super-cluster 0's first,
// and so on). The three presets come out of this same code: M = 1 makes the
// first level trivial (DeepCluster), K = 1 the second (RotNet). report, when
// not nil, is called with the phase and the fraction of it done.
func Hierarchy(ctx context.Context, feats []float32, n, d int, cfg HierarchyConfig, report func(phase deepercluster.Phase, done float64)) (*HierarchyResult, error) {
	m, k, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if err := checkMatrix(feats, n, d); err != nil {
		return nil, fmt.Errorf("hierarchy: %w", err)
	}
	if m > n {
		return nil, fmt.Errorf("hierarchy: %w: m = %d super-clusters for %d images", ErrBadInput, m, n)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if report == nil {
		report = func(deepercluster.Phase, float64) {}
	}
	iters := cfg.Iters
	if iters <= 0 {
		iters = DefaultIters
	}
	res := &HierarchyResult{}

	// PCA, whitening, normalisation.
	report(deepercluster.PhasePCA, 0)
	x, dim := feats[:n*d], d
	if cfg.PCADim > 0 && n >= 2 {
		out := min(cfg.PCADim, d)
		if out < cfg.PCADim {
			log.Info("pca dimension clamped to the feature dimension", "pca_dim", cfg.PCADim, "features", d)
		}
		p, err := FitPCA(ctx, feats, n, d, out, PCAOptions{SampleSize: cfg.PCASample, Seed: cfg.Seed})
		if err != nil {
			return nil, fmt.Errorf("hierarchy: %w", err)
		}
		if x, err = p.Apply(feats, n); err != nil {
			return nil, fmt.Errorf("hierarchy: %w", err)
		}
		res.PCA, dim = p, out
	} else {
		x = normalizedCopy(feats, n, d)
	}
	res.Dim, res.Features = dim, x
	report(deepercluster.PhasePCA, 1)

	// Level 1.
	report(deepercluster.PhaseLevel1, 0)
	super := make([]int32, n)
	if m == 1 {
		res.SuperCentroids = meanRow(x, nil, dim)
		res.SuperSizes = []int{n}
		res.SuperObjective = sumSqDist(x, nil, dim, res.SuperCentroids)
	} else {
		km, err := KMeans(ctx, x, n, dim, KMeansOptions{K: m, Iters: iters, Seed: cfg.Seed, Threads: cfg.Threads, Engine: cfg.Engine,
			OnIter: func(it int, _ float64) { report(deepercluster.PhaseLevel1, float64(it+1)/float64(iters)) }})
		if err != nil {
			return nil, fmt.Errorf("hierarchy level 1: %w", err)
		}
		super = km.Assign
		res.SuperCentroids, res.SuperSizes, res.SuperObjective, res.Splits = km.Centroids, km.Sizes, km.Objective, km.Splits
		if cfg.RefineSuper != nil {
			if err := refineSuper(ctx, x, n, dim, m, cfg, log, res, super); err != nil {
				return nil, err
			}
		}
	}
	report(deepercluster.PhaseLevel1, 1)

	// Level 2: k-means inside each super-cluster.
	report(deepercluster.PhaseLevel2, 0)
	groups := make([][]int32, m)
	for i, s := range super {
		groups[s] = append(groups[s], int32(i))
	}
	sub := make([]int32, n)
	var parent []int32
	done := 0
	for s, rows := range groups {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ks := min(k, len(rows))
		if ks < k {
			res.Clamped = append(res.Clamped, s)
		}
		base := int32(len(parent))
		for range ks {
			parent = append(parent, int32(s))
		}
		if ks == 1 {
			for _, i := range rows {
				sub[i] = base
			}
			c := meanRow(x, rows, dim)
			res.SubCentroids = append(res.SubCentroids, c...)
			res.SubSizes = append(res.SubSizes, len(rows))
			res.SubObjective += sumSqDist(x, rows, dim, c)
		} else {
			part := make([]float32, len(rows)*dim)
			for r, i := range rows {
				copy(part[r*dim:(r+1)*dim], x[int(i)*dim:int(i)*dim+dim])
			}
			km, err := KMeans(ctx, part, len(rows), dim, KMeansOptions{K: ks, Iters: iters, Seed: cfg.Seed + uint64(s) + 1, Threads: cfg.Threads, Engine: cfg.Engine})
			if err != nil {
				return nil, fmt.Errorf("hierarchy level 2, super-cluster %d: %w", s, err)
			}
			for r, i := range rows {
				sub[i] = base + km.Assign[r]
			}
			res.SubCentroids = append(res.SubCentroids, km.Centroids...)
			res.SubSizes = append(res.SubSizes, km.Sizes...)
			res.SubObjective += km.Objective
			res.Splits += km.Splits
		}
		done += len(rows)
		report(deepercluster.PhaseLevel2, float64(done)/float64(n))
	}
	if len(res.Clamped) > 0 {
		log.Info("k clamped to the size of small super-clusters", "k", k, "clamped", len(res.Clamped), "supers", m,
			"first", res.Clamped[:min(5, len(res.Clamped))])
	}
	res.Assignment = &deepercluster.Assignment{Super: super, Sub: sub, M: m, SubParent: parent}
	if err := res.Assignment.Validate(); err != nil {
		return nil, fmt.Errorf("hierarchy: internal error: %w", err)
	}
	return res, nil
}

// refineSuper replaces the level-1 clustering in res and super (n rows)
// by the neighbour-consistency refinement of x (HierarchyConfig.RefineSuper),
// unless the refinement leaves a super-cluster empty.
func refineSuper(ctx context.Context, x []float32, n, dim, m int, cfg HierarchyConfig, log *slog.Logger, res *HierarchyResult, super []int32) error {
	o := *cfg.RefineSuper
	o.K, o.Seed, o.Start = m, cfg.Seed, nil
	ref, err := RefineNeighbours(ctx, x, n, dim, o)
	if err != nil {
		return fmt.Errorf("hierarchy level 1, refinement: %w", err)
	}
	sizes := make([]int, m)
	for _, s := range ref.Assigned {
		sizes[s]++
	}
	for s, c := range sizes {
		if c == 0 {
			log.Info("refined super-clusters: one is empty, kept k-means'", "super", s)
			return nil
		}
	}
	g, err := groupMeans(x, n, dim, m, ref.Assigned)
	if err != nil {
		return fmt.Errorf("hierarchy level 1, refinement: %w", err)
	}
	log.Info("refined super-clusters", "nmi_to_kmeans", NMI(super, ref.Assigned), "confident", ref.Confident, "loss", ref.Loss)
	copy(super, ref.Assigned)
	res.SuperCentroids, res.SuperSizes, res.SuperObjective = g.Centroids, g.Sizes, g.Objective
	return nil
}

// normalizedCopy returns the rows scaled to unit length (zero rows stay 0).
func normalizedCopy(x []float32, n, d int) []float32 {
	out := make([]float32, n*d)
	copy(out, x[:n*d])
	for i := 0; i < n; i++ {
		row := out[i*d : (i+1)*d]
		s := dot32(row, row)
		if s == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(float64(s)))
		for j := range row {
			row[j] *= inv
		}
	}
	return out
}

// meanRow is the mean of the given rows of x (all rows when rows is nil).
func meanRow(x []float32, rows []int32, d int) []float32 {
	sum := make([]float64, d)
	cnt := 0
	add := func(i int) {
		for j, v := range x[i*d : i*d+d] {
			sum[j] += float64(v)
		}
		cnt++
	}
	if rows == nil {
		for i := 0; i < len(x)/d; i++ {
			add(i)
		}
	} else {
		for _, i := range rows {
			add(int(i))
		}
	}
	out := make([]float32, d)
	for j := range out {
		out[j] = float32(sum[j] / float64(max(cnt, 1)))
	}
	return out
}

func sumSqDist(x []float32, rows []int32, d int, c []float32) float64 {
	var s float64
	if rows == nil {
		for i := 0; i < len(x)/d; i++ {
			s += float64(sqDist32(x[i*d:i*d+d], c))
		}
		return s
	}
	for _, i := range rows {
		s += float64(sqDist32(x[int(i)*d:int(i)*d+d], c))
	}
	return s
}
