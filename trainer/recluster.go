package trainer

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// Reclustering: features, the two-level k-means of cluster/, the next
// Assignment version, fresh heads.

// nextVersion is the version the clustering after prev gets: 1 for the
// first, else one more than prev's. The run's new Assignment, the seed of
// its k-means and the log all take it from here.
func nextVersion(prev *deepercluster.Assignment) uint32 {
	if prev == nil {
		return 1
	}
	return prev.Version + 1
}

// recluster extracts features, runs the two-level clustering, saves and
// announces the new Assignment version and re-creates the heads. Nothing of
// the run changes unless it completes.
func (r *Run) recluster(ctx context.Context) error {
	p := r.params
	prev := r.assign
	n := r.ds.Len()
	next := nextVersion(prev)
	r.log.Info("reclustering", "version", next, "epoch", r.epoch, "preset", p.Preset, "m", p.M, "k", p.K)
	var a *deepercluster.Assignment
	var clustered *deepercluster.Features
	// Where the time goes, for the "reclustered" line (bench-start reads
	// it): features, PCA, then k-means from the first level's start.
	began := time.Now()
	var extractT, pcaT time.Duration
	if p.M == 1 && p.K == 1 {
		// RotNet without clusters: one trivial cluster, no extraction.
		a = &deepercluster.Assignment{Super: make([]int32, n), Sub: make([]int32, n), M: 1, SubParent: []int32{0}}
	} else {
		feats, err := r.extractAll(ctx)
		if err != nil {
			return err
		}
		extractT = time.Since(began)
		dim := r.source.FeatureDim()
		if len(feats) != n*dim {
			return fmt.Errorf("trainer: reclustering: %d feature values for %d images of %d", len(feats), n, dim)
		}
		var lastPhase deepercluster.Phase
		report := func(ph deepercluster.Phase, done float64) {
			if ph != lastPhase && ph == deepercluster.PhaseLevel1 {
				pcaT = time.Since(began) - extractT
			}
			lastPhase = ph
			r.setProgress(deepercluster.Progress{Phase: ph, Epoch: r.epoch, Epochs: r.cfg.Epochs, Done: done})
		}
		res, err := cluster.Hierarchy(ctx, feats, n, dim, cluster.HierarchyConfig{
			Preset: p.Preset, M: p.M, K: p.K, PCADim: p.PCADim, Iters: r.cfg.KMeansIters,
			Seed: r.cfg.Seed ^ uint64(next)*0x9e3779b97f4a7c15, PCASample: r.cfg.PCASample, Logger: r.log, Engine: r.cfg.KMeans,
			RefineSuper: r.refineSuper(),
		}, report)
		if err != nil {
			return fmt.Errorf("trainer: reclustering: %w", err)
		}
		a = res.Assignment
		clustered = &deepercluster.Features{N: n, Dim: res.Dim, Data: res.Features}
		// Keep cluster ids stable across versions (a renaming, not a change of
		// the partition): small deltas for clients and index updates.
		cluster.Align(prev, a)
	}
	a.Version = next
	clusterT := time.Since(began) - extractT
	if err := SaveAssignment(r.cfg.Dir, a); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	if r.model != nil {
		s, k := headShape(a, r.rotation())
		if err := r.model.SetHeads(s, k, r.rng); err != nil {
			return fmt.Errorf("trainer: %w", err)
		}
	}
	m := deepercluster.Metrics{Version: a.Version, Epoch: r.epoch, StabilityNMI: cluster.StabilityNMI(prev, a),
		LabelNMI: math.NaN(), LabelARI: math.NaN(), LabelPurity: math.NaN()}
	if r.labels != nil {
		m.LabelNMI = cluster.NMI(a.Sub, r.labels)
		m.LabelARI = cluster.ARI(a.Sub, r.labels)
		m.LabelPurity = cluster.Purity(a.Sub, r.labels)
	}
	// Logged before the checkpoint that names the version, so the history
	// log always covers the checkpoint.
	if err := r.hlog.add(metricsRecord(m)); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	r.mu.Lock()
	r.assign = a
	r.hist.AddMetrics(m)
	r.mu.Unlock()
	r.localSub = localSubs(a)
	r.clusteredEpoch = r.epoch
	r.step = 0
	if err := r.checkpoint(); err != nil {
		return err
	}
	r.events.Assignment(a)
	if clustered != nil {
		clustered.Version = a.Version
		r.events.Features(clustered)
	}
	r.events.Metrics(m)
	supers, _ := a.Sizes()
	largest := 0
	for _, c := range supers {
		largest = max(largest, c)
	}
	r.log.Info("reclustered", "version", a.Version, "epoch", r.epoch, "m", a.M, "subclusters", len(a.SubParent),
		"stability_nmi", round4(m.StabilityNMI), "label_nmi", round4(m.LabelNMI), "largest_super_share", round4(float64(largest)/float64(n)),
		"extract_s", round4(extractT.Seconds()), "pca_s", round4(pcaT.Seconds()), "kmeans_s", round4((clusterT - pcaT).Seconds()),
		"took_s", round4(time.Since(began).Seconds()))
	return nil
}

// refineSuper is the level-1 refinement of a reclustering, nil when off:
// eval's neighbour-consistency steps (1000), one start (each reclustering
// already draws its own seed).
func (r *Run) refineSuper() *cluster.RefineOptions {
	if !r.cfg.RefineSuper {
		return nil
	}
	return &cluster.RefineOptions{Steps: 1000, Starts: 1}
}

// headShape is the number of super-classes and the sub-head width for an
// assignment: k is the largest number of sub-clusters of a super-cluster
// (fewer when the engine clamped it).
func headShape(a *deepercluster.Assignment, rotation bool) (s, k int) {
	counts := make([]int, a.M)
	for _, p := range a.SubParent {
		counts[p]++
	}
	for _, c := range counts {
		k = max(k, c)
	}
	s = a.M
	if rotation {
		s *= 4
	}
	return s, k
}

// localSubs numbers each image's sub-cluster inside its super-cluster, in
// the order of the global ids.
func localSubs(a *deepercluster.Assignment) []int32 {
	local := make([]int32, len(a.SubParent))
	next := make([]int32, a.M)
	for j, p := range a.SubParent {
		local[j] = next[p]
		next[p]++
	}
	out := make([]int32, len(a.Sub))
	for i, z := range a.Sub {
		out[i] = local[z]
	}
	return out
}
