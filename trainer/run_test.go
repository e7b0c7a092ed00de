package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// recorder is an Observer that keeps everything it is told.
type recorder struct {
	mu       sync.Mutex
	progress []deepercluster.Progress
	assigns  []*deepercluster.Assignment
	metrics  []deepercluster.Metrics
	onProg   func(deepercluster.Progress)
}

func (o *recorder) OnProgress(p deepercluster.Progress) {
	o.mu.Lock()
	o.progress = append(o.progress, p)
	f := o.onProg
	o.mu.Unlock()
	if f != nil {
		f(p)
	}
}
func (o *recorder) OnAssignment(a *deepercluster.Assignment) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.assigns = append(o.assigns, a)
}
func (o *recorder) OnMetrics(m deepercluster.Metrics) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.metrics = append(o.metrics, m)
}

func synth(t *testing.T, n int) deepercluster.Dataset {
	t.Helper()
	ds, err := synthetic.New(synthetic.Config{Seed: 7, N: n, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func tinyConfig(dir string) Config {
	return Config{
		Dir:         dir,
		DatasetName: "synthetic",
		Params:      deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, ReclusterEvery: 2, PCADim: 8},
		Epochs:      2,
		Batch:       32,
		LR:          0.05,
		Seed:        11,
		Model:       ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16},
		KMeansIters: 5,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		c, z      int32
		r         int
		rot       bool
		wantS, z2 int
	}{
		{0, 0, 0, true, 0, 0},
		{0, 2, 3, true, 3, 2},
		{2, 1, 1, true, 9, 1},
		{3, 4, 2, true, 14, 4},
		{3, 4, 0, false, 3, 4},
	} {
		s, z := targets(tc.c, tc.z, tc.r, tc.rot)
		if s != tc.wantS || z != tc.z2 {
			t.Errorf("targets(c=%d, z=%d, r=%d, rot=%v) = (%d, %d), want (%d, %d)", tc.c, tc.z, tc.r, tc.rot, s, z, tc.wantS, tc.z2)
		}
	}
}

func TestLocalSubsAndHeadShape(t *testing.T) {
	a := &deepercluster.Assignment{Super: []int32{0, 1, 1, 0, 1}, Sub: []int32{0, 2, 3, 1, 4}, M: 2, SubParent: []int32{0, 0, 1, 1, 1}}
	got := localSubs(a)
	want := []int32{0, 0, 1, 1, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("localSubs = %v, want %v", got, want)
		}
	}
	if s, k := headShape(a, true); s != 8 || k != 3 {
		t.Fatalf("headShape with rotation = %d, %d; want 8, 3", s, k)
	}
	if s, k := headShape(a, false); s != 2 || k != 3 {
		t.Fatalf("headShape without rotation = %d, %d; want 2, 3", s, k)
	}
}

// TestTrainEndToEnd trains the tiny network on the synthetic set with every
// preset: the loss must fall by a margin, and the observer must hear about
// it all.
//
// The margin (maxRatio: the 4th epoch's mean loss over the 1st's) was
// measured on this test's setup, seeds 11, 12 and 13: a real run gives
// 0.70-0.75 (DeeperCluster), 0.89-0.95 (DeepCluster), 0.22-0.43 (RotNet);
// a step that learns nothing (LR 1e-9) gives 0.9999-1.0013 for all three.
// Each bound sits between the two, so an untrained or broken step fails
// while seed noise does not.
func TestTrainEndToEnd(t *testing.T) {
	ds := synth(t, 384)
	for _, tc := range []struct {
		preset   deepercluster.Preset
		m, k     int
		maxRatio float64
	}{
		{deepercluster.PresetDeeperCluster, 2, 3, 0.85},
		{deepercluster.PresetDeepCluster, 1, 6, 0.97},
		{deepercluster.PresetRotNet, 1, 1, 0.6},
	} {
		t.Run(string(tc.preset), func(t *testing.T) {
			cfg := tinyConfig(t.TempDir())
			cfg.Params.Preset, cfg.Params.M, cfg.Params.K = tc.preset, tc.m, tc.k
			cfg.Params.ReclusterEvery = 10 // one clustering: comparable losses across epochs
			cfg.Epochs = 4
			obs := &recorder{}
			r, err := NewRun(context.Background(), cfg, ds, obs)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Train(context.Background()); err != nil {
				t.Fatal(err)
			}
			r.Close()
			h := r.EpochSummaries()
			if len(h) != 4 {
				t.Fatalf("%d epoch summaries, want 4", len(h))
			}
			first, last := h[0].LossSuper+h[0].LossSub, h[3].LossSuper+h[3].LossSub
			if !(last <= tc.maxRatio*first) {
				t.Fatalf("loss fell from %.4f to %.4f (ratio %.4f), want a ratio <= %.2f: %+v", first, last, last/first, tc.maxRatio, h)
			}
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if len(obs.assigns) != 1 || obs.assigns[0].Version != 1 || len(obs.assigns[0].Super) != ds.Len() {
				t.Fatalf("observer got %d assignments", len(obs.assigns))
			}
			if _, err := os.Stat(AssignmentPath(cfg.Dir, 1)); err != nil {
				t.Fatalf("assignment v1 not saved: %v", err)
			}
			if len(obs.metrics) != 1 || !math.IsNaN(obs.metrics[0].StabilityNMI) {
				t.Fatalf("metrics: %+v", obs.metrics)
			}
			if tc.m*tc.k > 1 && math.IsNaN(obs.metrics[0].LabelNMI) {
				t.Fatalf("no label NMI though the synthetic set has labels: %+v", obs.metrics[0])
			}
			sawTrain := false
			for _, p := range obs.progress {
				if p.Phase == deepercluster.PhaseTraining && p.Steps > 0 && p.ImagesPerSec > 0 {
					sawTrain = true
				}
			}
			if !sawTrain {
				t.Fatal("no training progress reported")
			}
			if got := r.Info(); got.Version != 1 || got.Images != ds.Len() || !got.Labels {
				t.Fatalf("info: %+v", got)
			}
		})
	}
}

// TestResume stops a run after two epochs and continues it in a new Run:
// epoch, assignment version and weights carry over.
func TestResume(t *testing.T) {
	ds := synth(t, 256)
	cfg := tinyConfig(t.TempDir())
	cfg.Params.ReclusterEvery = 1
	r, err := NewRun(context.Background(), cfg, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, err := r.model.State()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if v := r.Assignment().Version; v != 2 {
		t.Fatalf("after 2 epochs with T=1: version %d, want 2", v)
	}

	cfg.Epochs = 3
	obs := &recorder{}
	r2, err := NewRun(context.Background(), cfg, ds, obs)
	if err != nil {
		t.Fatal(err)
	}
	if r2.epoch != 2 || r2.Assignment() == nil || r2.Assignment().Version != 2 {
		t.Fatalf("resumed at epoch %d, assignment %v", r2.epoch, r2.Assignment())
	}
	loaded, err := r2.model.State()
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, loaded, saved)
	if err := r2.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	r2.Close()
	if h := r2.EpochSummaries(); len(h) != 1 || h[0].Epoch != 2 {
		t.Fatalf("resumed run trained epochs %+v, want only epoch 2", h)
	}
	if v := r2.Assignment().Version; v != 3 {
		t.Fatalf("version %d after the third epoch, want 3", v)
	}
	if len(obs.metrics) != 1 || math.IsNaN(obs.metrics[0].StabilityNMI) {
		t.Fatalf("stability NMI vs the reloaded assignment missing: %+v", obs.metrics)
	}
}

func TestCheckpointMismatch(t *testing.T) {
	ds := synth(t, 128)
	cfg := tinyConfig(t.TempDir())
	cfg.Epochs = 1
	r, err := NewRun(context.Background(), cfg, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	cfg.Model.Width = 6
	_, err = NewRun(context.Background(), cfg, ds, nil)
	if err == nil {
		t.Fatal("a checkpoint of a narrower network loaded without error")
	}
	msg := err.Error()
	if !strings.Contains(msg, filepath.Join(cfg.Dir, CheckpointFile)) || !strings.Contains(msg, "conv1_1.weight") || !strings.Contains(msg, "[4 3 3 3]") {
		t.Fatalf("error does not name file, tensor and shape: %v", err)
	}
	// A corrupted file is caught by its checksum.
	path := filepath.Join(cfg.Dir, CheckpointFile)
	data, _ := os.ReadFile(path)
	data[len(data)-10] ^= 0xff
	os.WriteFile(path, data, 0o644)
	cfg.Model.Width = 4
	if _, err := NewRun(context.Background(), cfg, ds, nil); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupted checkpoint: %v", err)
	}
}

// TestCancelCheckpoints cancels mid-epoch: Train stops at a step boundary,
// saves, and a new Run continues from that very step.
func TestCancelCheckpoints(t *testing.T) {
	ds := synth(t, 256)
	cfg := tinyConfig(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := &recorder{onProg: func(p deepercluster.Progress) {
		if p.Phase == deepercluster.PhaseTraining && p.Epoch == 0 && p.Step >= 3 {
			cancel()
		}
	}}
	r, err := NewRun(ctx, cfg, ds, obs)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Train(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Train after cancel: %v", err)
	}
	stepped := r.step
	r.Close()
	if r.epoch != 0 || stepped < 3 || stepped >= 8 {
		t.Fatalf("stopped at epoch %d step %d", r.epoch, stepped)
	}
	ck, err := LoadCheckpoint(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 0 || ck.Step != stepped || ck.Version != 1 {
		t.Fatalf("checkpoint at epoch %d step %d version %d, want 0/%d/1", ck.Epoch, ck.Step, ck.Version, stepped)
	}
	r2, err := NewRun(context.Background(), cfg, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if r2.step != stepped {
		t.Fatalf("resumed at step %d, want %d", r2.step, stepped)
	}
	if err := r2.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := r2.EpochSummaries(); len(h) != 2 || h[0].Steps != 8-stepped {
		t.Fatalf("resumed epochs %+v: first should finish the %d remaining steps", h, 8-stepped)
	}
}

// stuck is an observer that never returns from OnProgress.
type stuck struct{ block chan struct{} }

func (s stuck) OnProgress(deepercluster.Progress)      { <-s.block }
func (s stuck) OnAssignment(*deepercluster.Assignment) {}
func (s stuck) OnMetrics(deepercluster.Metrics)        {}

func TestStuckObserverDoesNotStall(t *testing.T) {
	ds := synth(t, 128)
	cfg := tinyConfig(t.TempDir())
	cfg.Epochs = 2
	obs := stuck{make(chan struct{})}
	defer close(obs.block)
	r, err := NewRun(context.Background(), cfg, ds, obs)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Train(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("training stalled behind a stuck observer")
	}
	if len(r.EpochSummaries()) != 2 {
		t.Fatalf("trained %d epochs", len(r.EpochSummaries()))
	}
	r.model.Close()
}

func TestRequestRecluster(t *testing.T) {
	ds := synth(t, 256)
	cfg := tinyConfig(t.TempDir())
	cfg.Params.ReclusterEvery = 100
	var r *Run
	var once sync.Once
	var reqErr, second error
	obs := &recorder{}
	obs.onProg = func(p deepercluster.Progress) {
		if p.Phase == deepercluster.PhaseTraining && p.Step >= 2 {
			once.Do(func() {
				np := cfg.Params
				np.M, np.K = 3, 2
				reqErr = r.RequestRecluster(np)
				second = r.RequestRecluster(np)
			})
		}
	}
	var err error
	r, err = NewRun(context.Background(), cfg, ds, obs)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RequestRecluster(deepercluster.RunParams{Preset: "x"}); err == nil {
		t.Fatal("invalid params accepted")
	}
	if err := r.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if reqErr != nil {
		t.Fatal(reqErr)
	}
	if !errors.Is(second, deepercluster.ErrReclusterPending) {
		t.Fatalf("second request while pending: %v", second)
	}
	a := r.Assignment()
	if a.Version != 2 || a.M != 3 || r.Info().Params.M != 3 {
		t.Fatalf("after the request: version %d, m %d", a.Version, a.M)
	}
}

func TestLRSchedule(t *testing.T) {
	cases := []struct {
		schedule string
		t, want  float64
	}{
		{"", 0.5, 0.1},
		{LRConstant, 0.9, 0.1},
		{LRCosine, 0, 0.1},
		{LRCosine, 0.5, 0.05},
		{LRCosine, 1, 0},
		{LRCosine, 1.5, 0}, // clamped: a resumed run past its epochs
		{LRCosine, 0.25, 0.1 * (0.5 + 0.5*math.Sqrt(0.5))},
	}
	for _, c := range cases {
		got := lrAt(c.schedule, 0.1, c.t)
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%q at %.2f: lr %g, want %g", c.schedule, c.t, got, c.want)
		}
	}
	cfg := tinyConfig(t.TempDir())
	cfg.LRSchedule = "step"
	if _, err := NewRun(context.Background(), cfg, synth(t, 64), nil); err == nil || !strings.Contains(err.Error(), `"step"`) {
		t.Fatalf("unknown schedule: %v", err)
	}
	// A cosine run's last step uses the rate of its last step's position.
	cfg.LRSchedule = LRCosine
	var rec *recordingBackend
	cfg.NewBackend = func(bc BackendConfig) (Backend, error) {
		b, err := NewCPUBackend(bc)
		rec = &recordingBackend{Backend: b}
		return rec, err
	}
	r, err := NewRun(context.Background(), cfg, synth(t, 128), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	steps := cfg.Epochs * 128 / cfg.Batch
	if rec.steps != steps || len(rec.lrs) != steps {
		t.Fatalf("the backend saw %d steps and %d rates, want %d of each", rec.steps, len(rec.lrs), steps)
	}
	if lr, want := rec.lrs[steps-1], lrAt(cfg.LRSchedule, cfg.LR, float64(steps-1)/float64(steps)); math.Abs(lr-want) > 1e-12 || lr > 0.05*cfg.LR {
		t.Fatalf("learning rate at the end of a cosine run: %g, want %g (start %g)", lr, want, cfg.LR)
	}
}

// recordingBackend passes every call to a real backend and records the
// steps and the learning rates the run asked for: the run reaches its model
// only through the Backend interface.
type recordingBackend struct {
	Backend
	steps int
	lrs   []float64
}

func (b *recordingBackend) SetLR(lr float64) {
	b.lrs = append(b.lrs, lr)
	b.Backend.SetLR(lr)
}

func (b *recordingBackend) Step(batch *Batch) (StepStats, error) {
	b.steps++
	return b.Backend.Step(batch)
}

// sameState fails unless got and want hold the same heads and tensors.
func sameState(t *testing.T, got, want *State) {
	t.Helper()
	if got.HeadS != want.HeadS || got.HeadK != want.HeadK || len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("state: heads %dx%d with %d tensors, want %dx%d with %d", got.HeadS, got.HeadK, len(got.Tensors), want.HeadS, want.HeadK, len(want.Tensors))
	}
	for _, w := range want.Tensors {
		g := got.Tensor(w.Name)
		if g == nil {
			t.Fatalf("state: no tensor %q", w.Name)
		}
		if !slices.Equal(g.Shape, w.Shape) || !slices.Equal(g.Data, w.Data) {
			t.Fatalf("state: tensor %q differs (shape %v, want %v)", w.Name, g.Shape, w.Shape)
		}
	}
}

// featureRecorder is a recorder that also wants the features of every
// clustering (a deepercluster.FeatureObserver).
type featureRecorder struct {
	recorder
	feats []*deepercluster.Features
	order []string // "a<version>" and "f<version>" as they came
}

func (o *featureRecorder) OnAssignment(a *deepercluster.Assignment) {
	o.recorder.OnAssignment(a)
	o.mu.Lock()
	o.order = append(o.order, fmt.Sprintf("a%d", a.Version))
	o.mu.Unlock()
}

func (o *featureRecorder) OnFeatures(f *deepercluster.Features) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.feats = append(o.feats, f)
	o.order = append(o.order, fmt.Sprintf("f%d", f.Version))
}

// TestFeaturesReachFeatureObservers: after each Assignment, an observer
// that wants them gets the features it was clustered from, in the
// clustering's own space: one unit-length row of pca_dim values per image.
func TestFeaturesReachFeatureObservers(t *testing.T) {
	const n = 320
	ds := synth(t, n)
	obs := &featureRecorder{}
	cfg := tinyConfig(t.TempDir())
	cfg.Epochs, cfg.Params.ReclusterEvery = 2, 1
	run, err := NewRun(context.Background(), cfg, ds, obs)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	run.Close()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.feats) != len(obs.assigns) || len(obs.feats) < 2 {
		t.Fatalf("%d feature sets for %d assignments", len(obs.feats), len(obs.assigns))
	}
	for i, f := range obs.feats {
		if f.Version != obs.assigns[i].Version || f.N != n || f.Dim != cfg.Params.PCADim || f.Validate() != nil {
			t.Fatalf("features %d: version %d n %d dim %d, assignment version %d", i, f.Version, f.N, f.Dim, obs.assigns[i].Version)
		}
		for r := range n {
			s := 0.0
			for _, v := range f.Row(r) {
				s += float64(v) * float64(v)
			}
			if math.Abs(s-1) > 1e-3 {
				t.Fatalf("features %d row %d: squared norm %v, want 1", i, r, s)
			}
		}
	}
	// Each version's features follow its Assignment.
	for i := 0; i+1 < len(obs.order); i += 2 {
		if obs.order[i][0] != 'a' || obs.order[i+1] != "f"+obs.order[i][1:] {
			t.Fatalf("event order %v", obs.order)
		}
	}
}

// holder is a featureRecorder that holds training from the first
// features on (a deepercluster.TrainingHolder), as the server does for a
// run's first map, until release is closed.
type holder struct {
	featureRecorder
	release chan struct{}
	entered chan struct{} // closed when a HoldTraining first waits
	holding bool
	waited  int // HoldTraining calls that waited
}

func (o *holder) waits() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.waited
}

func (o *holder) OnFeatures(f *deepercluster.Features) {
	o.featureRecorder.OnFeatures(f)
	o.mu.Lock()
	o.holding = true
	o.mu.Unlock()
}

func (o *holder) HoldTraining(ctx context.Context) {
	o.mu.Lock()
	hold := o.holding
	if hold {
		if o.waited++; o.waited == 1 {
			close(o.entered)
		}
	}
	o.mu.Unlock()
	if !hold {
		return
	}
	select {
	case <-o.release:
	case <-ctx.Done():
	}
}

// TestTrainingHolderHoldsSteps: an observer that holds training from its
// first features on gets them before the first step (no step is taken
// while it holds), and training goes on when the hold ends or stops when
// ctx is cancelled during it; a recluster request during the hold is
// applied at once, and training is held again after it.
func TestTrainingHolderHoldsSteps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cancel    bool
		recluster bool // then released
	}{
		{name: "released"},
		{name: "cancelled while held", cancel: true},
		{name: "recluster requested while held", recluster: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := synth(t, 128)
			cfg := tinyConfig(t.TempDir())
			obs := &holder{release: make(chan struct{}), entered: make(chan struct{})}
			r, err := NewRun(context.Background(), cfg, ds, obs)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- r.Train(ctx) }()
			select {
			case <-obs.entered:
			case <-time.After(60 * time.Second):
				t.Fatal("training never asked the holder")
			}
			if h := r.History(); len(h.Steps) != 0 {
				t.Fatalf("%d steps taken while held", len(h.Steps))
			}
			if tc.recluster {
				// The request ends the wait: the run reclusters, and
				// is held again before its next step.
				if err := r.RequestRecluster(cfg.Params); err != nil {
					t.Fatal(err)
				}
				for deadline := time.Now().Add(60 * time.Second); r.Info().Version < 2; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("version %d: the request was not applied while held", r.Info().Version)
					}
				}
				for deadline := time.Now().Add(60 * time.Second); obs.waits() < 2; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("not held again after the reclustering")
					}
				}
				if h := r.History(); len(h.Steps) != 0 {
					t.Fatalf("%d steps taken around a reclustering while held", len(h.Steps))
				}
			}
			if tc.cancel {
				cancel()
			} else {
				close(obs.release)
			}
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("training did not end")
			}
			steps := len(r.History().Steps)
			switch {
			case tc.cancel && !errors.Is(err, context.Canceled):
				t.Fatalf("train after a cancel while held: %v", err)
			case tc.cancel && steps != 0:
				t.Fatalf("%d steps after a cancel while held", steps)
			case !tc.cancel && err != nil:
				t.Fatal(err)
			case !tc.cancel && (len(r.EpochSummaries()) != cfg.Epochs || steps == 0):
				t.Fatalf("%d epochs, %d steps after the hold ended", len(r.EpochSummaries()), steps)
			}
		})
	}
}
