package pipeline

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
	"github.com/deepercluster/deepercluster/internal/npy"
)

func init() {
	register.DoFn3x1[context.Context, int, func(int, []float64), error](&assignFn{})
	register.Combiner1[[]float64](&sumFn{})
	register.DoFn3x0[int, []float64, func(int, []float64)](&rekeyFn{})
	register.DoFn3x1[context.Context, int, func(*[]float64) bool, error](&writeSumsFn{})
	register.DoFn2x1[context.Context, int, error](&projectFn{})
	register.Emitter2[int, []float64]()
	register.Iter1[[]float64]()
}

// Features is a matrix of per-shard feature files in a work directory:
// shard s holds Rows[s] rows of Dim float32 values in Prefix-NNNNN.npy
// (internal/npy, which NumPy loads as it is).
type Features struct {
	Work   string
	Prefix string
	Rows   []int
	Dim    int
}

// Path is the file of shard s.
func (f Features) Path(s int) string {
	return filepath.Join(f.Work, fmt.Sprintf("%s-%05d.npy", f.Prefix, s))
}

// N is the number of rows over all shards.
func (f Features) N() int {
	n := 0
	for _, r := range f.Rows {
		n += r
	}
	return n
}

// WriteShard stores shard s's rows (Rows[s] x Dim) atomically.
func (f Features) WriteShard(s int, x []float32) error {
	if len(x) != f.Rows[s]*f.Dim {
		return fmt.Errorf("features of shard %d: %d values, want %d x %d", s, len(x), f.Rows[s], f.Dim)
	}
	if err := npy.Write(f.Path(s), f.Rows[s], f.Dim, x); err != nil {
		return fmt.Errorf("features of shard %d: %w", s, err)
	}
	return nil
}

// ReadShard loads shard s's rows.
func (f Features) ReadShard(s int) ([]float32, error) {
	rows, dim, x, err := npy.Read[float32](f.Path(s))
	if err != nil {
		return nil, fmt.Errorf("features of shard %d: %w", s, err)
	}
	if rows != f.Rows[s] || dim != f.Dim {
		return nil, fmt.Errorf("features of shard %d: %s holds %d x %d, want %d x %d", s, f.Path(s), rows, dim, f.Rows[s], f.Dim)
	}
	return x, nil
}

// readRows reads the given global rows (sorted or not) from the shard
// files without loading whole shards.
func (f Features) readRows(rows []int) ([]float32, error) {
	start := make([]int, len(f.Rows)+1)
	for s, r := range f.Rows {
		start[s+1] = start[s] + r
	}
	out := make([]float32, len(rows)*f.Dim)
	files := map[int]*npy.RowReader[float32]{}
	defer func() {
		for _, fh := range files {
			fh.Close()
		}
	}()
	for i, r := range rows {
		s, _ := slices.BinarySearch(start, r+1)
		s--
		fh, ok := files[s]
		if !ok {
			var err error
			if fh, err = npy.OpenRows[float32](f.Path(s)); err != nil {
				return nil, fmt.Errorf("features of shard %d: %w", s, err)
			}
			files[s] = fh
			if n, d := fh.Shape(); n != f.Rows[s] || d != f.Dim {
				return nil, fmt.Errorf("features of shard %d: %s holds %d x %d, want %d x %d", s, f.Path(s), n, d, f.Rows[s], f.Dim)
			}
		}
		if err := fh.ReadRow(r-start[s], out[i*f.Dim:(i+1)*f.Dim]); err != nil {
			return nil, fmt.Errorf("features of shard %d: %w", s, err)
		}
	}
	return out, nil
}

// labelsPath is the file of shard s's labels: an n x 1 int32 .npy.
func labelsPath(work, prefix string, s int) string {
	return filepath.Join(work, fmt.Sprintf("%s-%05d.npy", prefix, s))
}

func writeLabels(path string, l []int32) error {
	if err := npy.Write(path, len(l), 1, l); err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	return nil
}

func readLabels(path string, n int) ([]int32, error) {
	rows, cols, l, err := npy.Read[int32](path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	if rows != n || cols != 1 {
		return nil, fmt.Errorf("labels %s: %d x %d, want %d x 1", path, rows, cols, n)
	}
	return l, nil
}

// centroidTable is what the driver hands the workers for one k-means
// iteration: Groups blocks of centroids (one block at level 1; one per
// super-cluster at level 2, block g being rows Base[g]..Base[g]+Count[g]
// of Cent).
type centroidTable struct {
	Dim         int
	Cent        []float32
	Base, Count []int
}

func (t centroidTable) k() int { return len(t.Cent) / t.Dim }

// projectFn applies the fitted PCA (whitening, then L2 normalisation) to
// one shard's features, or normalises them without PCA.
type projectFn struct {
	In, Out Features
	PCA     string // gob file of the fitted cluster.PCA; empty: normalise only
}

// ProcessElement projects shard s.
func (f *projectFn) ProcessElement(ctx context.Context, s int) error {
	x, err := f.In.ReadShard(s)
	if err != nil {
		return err
	}
	n := f.In.Rows[s]
	var y []float32
	if f.PCA == "" {
		y = cluster.NormalizeRows(x, n, f.In.Dim)
	} else {
		b, err := os.ReadFile(f.PCA)
		if err != nil {
			return fmt.Errorf("pca: %w", err)
		}
		var p cluster.PCA
		if err := decode(b, &p); err != nil {
			return fmt.Errorf("pca %s: %w", f.PCA, err)
		}
		q, err := cluster.RestorePCA(&p)
		if err != nil {
			return err
		}
		if n > 0 {
			if y, err = q.Apply(x, n); err != nil {
				return fmt.Errorf("shard %d: %w", s, err)
			}
		}
	}
	return f.Out.WriteShard(s, y)
}

// assignFn is the k-means assignment step on one shard: each row goes to
// the nearest centroid of its group (the one group at level 1, its
// super-cluster at level 2), the labels are written beside the features,
// and the shard's per-centroid sums go out: Dim sums, the count and the
// sum of squared distances, keyed by centroid.
type assignFn struct {
	X Features
	// Table is the gob file of the iteration's centroidTable.
	Table string
	// Groups is the label file prefix of the rows' groups; empty: all in group 0.
	Groups string
	// Labels is the prefix of the label files written.
	Labels string
}

// ProcessElement assigns shard s.
func (f *assignFn) ProcessElement(ctx context.Context, s int, emit func(int, []float64)) error {
	tb, err := os.ReadFile(f.Table)
	if err != nil {
		return fmt.Errorf("centroids: %w", err)
	}
	var t centroidTable
	if err := decode(tb, &t); err != nil {
		return fmt.Errorf("centroids %s: %w", f.Table, err)
	}
	x, err := f.X.ReadShard(s)
	if err != nil {
		return err
	}
	n, d := f.X.Rows[s], f.X.Dim
	groups := make([]int32, n)
	if f.Groups != "" {
		if groups, err = readLabels(labelsPath(f.X.Work, f.Groups, s), n); err != nil {
			return err
		}
	}
	// Rows by group, in row order.
	byGroup := make([][]int32, len(t.Base))
	for i, g := range groups {
		if int(g) < 0 || int(g) >= len(t.Base) {
			return fmt.Errorf("shard %d row %d: group %d of %d", s, i, g, len(t.Base))
		}
		byGroup[g] = append(byGroup[g], int32(i))
	}
	labels := make([]int32, n)
	sums := make([][]float64, t.k())
	for g, rows := range byGroup {
		if len(rows) == 0 || t.Count[g] == 0 {
			continue
		}
		part := x
		if len(byGroup) > 1 {
			part = make([]float32, len(rows)*d)
			for r, i := range rows {
				copy(part[r*d:(r+1)*d], x[int(i)*d:int(i)*d+d])
			}
		}
		local := make([]int32, len(rows))
		cent := t.Cent[t.Base[g]*d : (t.Base[g]+t.Count[g])*d]
		if _, err := cluster.Assign(ctx, part, len(rows), d, cent, t.Count[g], local, 0); err != nil {
			return fmt.Errorf("shard %d: %w", s, err)
		}
		for r, i := range rows {
			c := t.Base[g] + int(local[r])
			labels[i] = int32(c)
			if sums[c] == nil {
				sums[c] = make([]float64, d+2)
			}
			row := x[int(i)*d : int(i)*d+d]
			sc := sums[c]
			var dist float64
			ct := t.Cent[c*d : c*d+d]
			for j, v := range row {
				sc[j] += float64(v)
				e := float64(v) - float64(ct[j])
				dist += e * e
			}
			sc[d]++
			sc[d+1] += dist
		}
	}
	if err := writeLabels(labelsPath(f.X.Work, f.Labels, s), labels); err != nil {
		return fmt.Errorf("shard %d: %w", s, err)
	}
	for c, sc := range sums {
		if sc != nil {
			emit(c, sc)
		}
	}
	return nil
}

// sumFn adds per-centroid partial sums (the CombinePerKey of the
// assignment step).
type sumFn struct{}

// MergeAccumulators adds b into a.
func (sumFn) MergeAccumulators(a, b []float64) []float64 {
	if a == nil {
		return append([]float64(nil), b...)
	}
	for i := range b {
		a[i] += b[i]
	}
	return a
}

// rekeyFn spreads the combined sums over Parts output files, the centroid
// id travelling in front of its sums.
type rekeyFn struct{ Parts int }

// ProcessElement rekeys one centroid's sums.
func (f *rekeyFn) ProcessElement(c int, sum []float64, emit func(int, []float64)) {
	emit(c%f.Parts, append([]float64{float64(c)}, sum...))
}

// writeSumsFn writes one part of the combined sums for the driver.
type writeSumsFn struct{ Dir string }

// ProcessElement writes part p.
func (f *writeSumsFn) ProcessElement(ctx context.Context, p int, sums func(*[]float64) bool) error {
	var b []byte
	var v []float64
	for sums(&v) {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	if err := atomicfile.Write(filepath.Join(f.Dir, fmt.Sprintf("sums-%05d.f64", p)), b); err != nil {
		return fmt.Errorf("sums part %d: %w", p, err)
	}
	return nil
}

// KMeansConfig configures ClusterFeatures: cluster.HierarchyConfig's
// fields that a distributed run uses.
type KMeansConfig struct {
	Preset    deepercluster.Preset
	M, K      int
	PCADim    int
	PCASample int
	Iters     int
	Seed      uint64
	Runner    Runner
	Logger    *slog.Logger
}

// KMeansResult is the outcome of ClusterFeatures.
type KMeansResult struct {
	Assignment *deepercluster.Assignment
	// Dim is the dimension clustered (after PCA).
	Dim int
	// Iterations counts the Beam k-means iterations run (both levels).
	Iterations int
	// ShuffleBytes is what one iteration sends into the combine: the
	// shards' per-centroid partial sums (8 bytes per value), summed over
	// every iteration.
	ShuffleBytes int64
	// Splits counts the empty clusters refilled.
	Splits int
	// SuperCentroids (M x Dim) and SubCentroids (sub-clusters x Dim, in
	// global order) are the centroids after the last update.
	SuperCentroids, SubCentroids []float32
}

// ClusterFeatures runs cluster.Hierarchy's two-level clustering on the
// per-shard features in = (Beam work per shard, driver between steps):
// PCA fitted by the driver on a sample, projection per shard, then Iters
// Lloyd iterations at each level, each one pipeline: assignment per shard
// with per-centroid sums, CombinePerKey, and the driver's update of the
// centroids (empty clusters split as cluster.KMeans does). Level 2 runs the
// k-means of every super-cluster in the same pipelines. With the same
// features and seed the result matches cluster.Hierarchy up to ties (and
// exactly while no cluster empties).
func ClusterFeatures(ctx context.Context, in Features, cfg KMeansConfig) (*KMeansResult, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	m, k, err := cfg.Preset.Shape(cfg.M, cfg.K)
	if err != nil {
		return nil, err
	}
	n := in.N()
	if m < 1 || k < 1 || m > n {
		return nil, fmt.Errorf("k-means: m = %d, k = %d for %d images", m, k, n)
	}
	iters := cfg.Iters
	if iters <= 0 {
		iters = cluster.DefaultIters
	}
	res := &KMeansResult{}
	shards := seq(len(in.Rows))

	// PCA on a sample, then projection per shard.
	x := Features{Work: in.Work, Prefix: "x", Rows: in.Rows, Dim: in.Dim}
	pcaFile := ""
	if cfg.PCADim > 0 && n >= 2 {
		out := min(cfg.PCADim, in.Dim)
		rows := make([]int, n)
		for i := range rows {
			rows[i] = i
		}
		if cfg.PCASample > 0 && n > cfg.PCASample {
			rows = rand.New(rand.NewPCG(cfg.Seed, 0x706361)).Perm(n)[:cfg.PCASample]
			slices.Sort(rows)
		}
		sample, err := in.readRows(rows)
		if err != nil {
			return nil, err
		}
		p, err := cluster.FitPCA(ctx, sample, len(rows), in.Dim, out, cluster.PCAOptions{Seed: cfg.Seed})
		if err != nil {
			return nil, err
		}
		b, err := encode(p)
		if err != nil {
			return nil, err
		}
		pcaFile = filepath.Join(in.Work, "pca.gob")
		if err := atomicfile.Write(pcaFile, b); err != nil {
			return nil, fmt.Errorf("pca: %w", err)
		}
		x.Dim = out
	}
	res.Dim = x.Dim
	pp, s := beam.NewPipelineWithRoot()
	beam.ParDo0(s.Scope("project"), &projectFn{In: in, Out: x, PCA: pcaFile}, beam.CreateList(s, shards))
	if err := cfg.Runner.Execute(ctx, pp); err != nil {
		return nil, fmt.Errorf("project features: %w", err)
	}
	d := x.Dim

	// Level 1.
	super := make([]int32, n)
	if m > 1 {
		rng := cluster.KMeansRNG(cfg.Seed)
		init, err := x.readRows(rng.Perm(n)[:m])
		if err != nil {
			return nil, err
		}
		t := centroidTable{Dim: d, Cent: init, Base: []int{0}, Count: []int{m}}
		rngs := []*rand.Rand{rng}
		for it := range iters {
			if err := iterate(ctx, cfg.Runner, x, &t, "", "super", rngs, res); err != nil {
				return nil, fmt.Errorf("level 1 iteration %d: %w", it, err)
			}
			log.Debug("k-means level 1", "iteration", it)
		}
		if super, err = readAllLabels(x, "super"); err != nil {
			return nil, err
		}
		res.SuperCentroids = t.Cent
	} else {
		for _, s := range shards {
			if err := writeLabels(labelsPath(x.Work, "super", s), make([]int32, x.Rows[s])); err != nil {
				return nil, err
			}
		}
	}

	// Level 2: every super-cluster's k-means in the same pipelines.
	groups := make([][]int, m)
	for i, g := range super {
		groups[g] = append(groups[g], i)
	}
	t := centroidTable{Dim: d, Base: make([]int, m), Count: make([]int, m)}
	var initRows []int
	rngs := make([]*rand.Rand, m)
	var parent []int32
	for g, rows := range groups {
		ks := min(k, len(rows))
		if ks == 0 {
			return nil, fmt.Errorf("level 1 left super-cluster %d empty", g)
		}
		t.Base[g], t.Count[g] = len(initRows), ks
		rngs[g] = cluster.KMeansRNG(cfg.Seed + uint64(g) + 1)
		for _, r := range rngs[g].Perm(len(rows))[:ks] {
			initRows = append(initRows, rows[r])
		}
		for range ks {
			parent = append(parent, int32(g))
		}
	}
	if t.Cent, err = x.readRows(initRows); err != nil {
		return nil, err
	}
	if k == 1 {
		// One sub-cluster per super-cluster: no iterations needed, but one
		// pass writes the labels.
		iters = 1
	}
	for it := range iters {
		if err := iterate(ctx, cfg.Runner, x, &t, "super", "sub", rngs, res); err != nil {
			return nil, fmt.Errorf("level 2 iteration %d: %w", it, err)
		}
	}
	res.SubCentroids = t.Cent
	sub, err := readAllLabels(x, "sub")
	if err != nil {
		return nil, err
	}
	res.Assignment = &deepercluster.Assignment{Super: super, Sub: sub, M: m, SubParent: parent}
	if err := res.Assignment.Validate(); err != nil {
		return nil, fmt.Errorf("k-means: %w", err)
	}
	return res, nil
}

func readAllLabels(x Features, prefix string) ([]int32, error) {
	var all []int32
	for s, r := range x.Rows {
		l, err := readLabels(labelsPath(x.Work, prefix, s), r)
		if err != nil {
			return nil, err
		}
		all = append(all, l...)
	}
	return all, nil
}

// iterate runs one Lloyd iteration as a pipeline and updates t's
// centroids from the combined sums: the mean of each non-empty cluster,
// and a split of a donor for each empty one (rngs[g] for group g).
func iterate(ctx context.Context, r Runner, x Features, t *centroidTable, groups, labels string, rngs []*rand.Rand, res *KMeansResult) error {
	d, k := t.Dim, t.k()
	tb, err := encode(*t)
	if err != nil {
		return err
	}
	table := filepath.Join(x.Work, "centroids.gob")
	if err := atomicfile.Write(table, tb); err != nil {
		return fmt.Errorf("centroids: %w", err)
	}
	sumsDir := filepath.Join(x.Work, "sums")
	if err := os.RemoveAll(sumsDir); err != nil {
		return fmt.Errorf("sums: %w", err)
	}
	if err := os.MkdirAll(sumsDir, 0o755); err != nil {
		return fmt.Errorf("sums: %w", err)
	}
	parts := max(1, len(x.Rows))
	p, s := beam.NewPipelineWithRoot()
	partial := beam.ParDo(s.Scope("assign"), &assignFn{X: x, Table: table, Groups: groups, Labels: labels}, beam.CreateList(s, seq(len(x.Rows))))
	sums := beam.CombinePerKey(s.Scope("sum per centroid"), &sumFn{}, partial)
	byPart := beam.GroupByKey(s.Scope("by part"), beam.ParDo(s, &rekeyFn{Parts: parts}, sums))
	beam.ParDo0(s.Scope("write sums"), &writeSumsFn{Dir: sumsDir}, byPart)
	if err := r.Execute(ctx, p); err != nil {
		return err
	}
	// Read the sums back.
	total := make([]float64, k*(d+2))
	seen := make([]bool, k)
	ents, err := os.ReadDir(sumsDir)
	if err != nil {
		return fmt.Errorf("sums: %w", err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "sums-") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(sumsDir, e.Name()))
		if err != nil {
			return fmt.Errorf("sums: %w", err)
		}
		rec := 8 * (d + 3)
		if len(b)%rec != 0 {
			return fmt.Errorf("sums %s: %d bytes, not records of %d", e.Name(), len(b), rec)
		}
		for o := 0; o < len(b); o += rec {
			c := int(math.Float64frombits(binary.LittleEndian.Uint64(b[o:])))
			if c < 0 || c >= k || seen[c] {
				return fmt.Errorf("sums %s: centroid %d out of range or repeated", e.Name(), c)
			}
			seen[c] = true
			for j := range d + 2 {
				total[c*(d+2)+j] = math.Float64frombits(binary.LittleEndian.Uint64(b[o+8*(j+1):]))
			}
		}
	}
	res.Iterations++
	// The shards' partials, before combining: one per (shard, centroid)
	// present; bounded by shards x k.
	res.ShuffleBytes += int64(min(len(x.Rows), x.N())) * int64(k) * int64(8*(d+2))
	for g := range t.Base {
		sizes := make([]int, t.Count[g])
		for lc := range sizes {
			c := t.Base[g] + lc
			cnt := total[c*(d+2)+d]
			sizes[lc] = int(cnt)
			if cnt == 0 {
				continue
			}
			for j := range d {
				t.Cent[c*d+j] = float32(total[c*(d+2)+j] / cnt)
			}
		}
		blk := t.Cent[t.Base[g]*d : (t.Base[g]+t.Count[g])*d]
		res.Splits += cluster.SplitEmptyCentroids(blk, sizes, d, rngs[g])
	}
	return nil
}
