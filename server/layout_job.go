package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/par"
	"github.com/deepercluster/deepercluster/layout2d"
	"github.com/deepercluster/deepercluster/wire"
)

// layoutK is the number of neighbours of the layout's graph.
const layoutK = 15

// LayoutK is layoutK, for `deepercluster export --layout`, which lays out
// the same map without a server.
const LayoutK = layoutK

// startLayout computes the 2D map of features f in the background. A
// layout under way is not cancelled by newer features: they wait for it
// (the newest only) and start when it ends, so that the map keeps
// changing even when each layout takes longer than a reclustering
// interval. Once a map exists, each layout runs on a thread of lowered
// priority (par.LowerPriority), so that it takes the cores only while
// training leaves them idle: training keeps its speed and the map lags a
// version or so behind. The first map of a run, which clients have
// nothing in place of, runs at normal priority on FirstLayoutThreads and
// holds training while it computes (HoldTraining).
func (s *Server) startLayout(ctx context.Context, f *deepercluster.Features) {
	if f.N < 2*layoutK {
		s.log.Info("too few images for a 2D map", "version", f.Version, "images", f.N)
		return
	}
	s.mu.Lock()
	if s.layoutBusy {
		if s.layoutNext == nil || f.Version >= s.layoutNext.Version {
			s.layoutNext = f
		}
		s.mu.Unlock()
		return
	}
	s.layoutBusy = true
	s.mu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for f != nil {
			background := s.currentLayout() != nil
			if !background {
				s.mu.Lock()
				s.holdTrainingLocked(f)
				s.mu.Unlock()
			}
			done := make(chan struct{})
			// A goroutine per job: a lowered thread exits with it.
			go func() {
				defer close(done)
				s.layoutJob(ctx, f, background)
			}()
			<-done
			if !background {
				// Published, failed or cancelled: training goes on.
				s.releaseTraining()
			}
			s.mu.Lock()
			f, s.layoutNext = s.layoutNext, nil
			if ctx.Err() != nil {
				f = nil
			}
			if f == nil {
				s.layoutBusy = false
			}
			s.mu.Unlock()
		}
	}()
}

// holdTrainingLocked starts holding training (HoldTraining) for the first
// map of f, when Run is running, the run has no map yet and f has enough
// images for one; s.mu is held. The hold ends with the first layout job
// (releaseTraining), whatever its outcome.
func (s *Server) holdTrainingLocked(f *deepercluster.Features) {
	if !s.running || s.layout != nil || s.trainHold != nil || f.N < 2*layoutK {
		return
	}
	s.trainHold, s.holdVersion = make(chan struct{}), f.Version
}

// releaseTraining ends the hold of training, if any.
func (s *Server) releaseTraining() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trainHold != nil {
		close(s.trainHold)
		s.trainHold = nil
	}
}

// HoldTraining implements deepercluster.TrainingHolder: while the run's
// first map computes, training waits between steps, so that the map, which
// clients have nothing in place of, gets the cores (FirstLayoutThreads)
// instead of sharing them with training: on 2 cores the first map of
// 1,000,000 images would otherwise take twice as long. It returns when the
// map is published, fails or is cancelled (Run ending included), or when
// ctx is done; at once when nothing is held. Both ends are logged, the
// second with the seconds held (bench-start reads held_s).
func (s *Server) HoldTraining(ctx context.Context) {
	s.mu.Lock()
	hold, v := s.trainHold, s.holdVersion
	s.mu.Unlock()
	if hold == nil {
		return
	}
	start := time.Now()
	s.log.Info("training held for the first map", "version", v, "threads", s.cfg.FirstLayoutThreads)
	select {
	case <-hold:
	case <-ctx.Done():
	}
	l := s.currentLayout()
	s.log.Info("training resumed", "version", v, "held_s", math.Round(time.Since(start).Seconds()*10)/10,
		"map_ready", l != nil && l.Final)
}

// layoutJob computes and publishes the layout of f, on a thread of lowered
// priority when background is set, and logs how it ended.
func (s *Server) layoutJob(ctx context.Context, f *deepercluster.Features, background bool) {
	threads := s.cfg.FirstLayoutThreads
	if background {
		threads = s.cfg.LayoutThreads
		if threads == 1 {
			// With one thread the kernels run on this goroutine alone.
			if err := par.LowerPriority(); err != nil {
				s.log.Warn("layout at normal priority", "version", f.Version, "err", err)
			}
			// A P of its own, so that the kernel, which knows the
			// thread's priority, shares the cores, not the Go
			// scheduler, which does not (par.Lend).
			defer par.Lend()()
		}
	}
	start := time.Now()
	err := s.computeLayout(ctx, f, threads)
	switch {
	case errors.Is(err, context.Canceled):
		s.log.Info("layout cancelled", "version", f.Version, "after", time.Since(start).Round(time.Millisecond))
	case err != nil:
		s.log.Error("layout", "version", f.Version, "err", err)
	default:
		s.log.Info("layout ready", "version", f.Version, "images", f.N, "background", background, "threads", threads,
			"took", time.Since(start).Round(time.Millisecond))
	}
}

// computeLayout builds the kNN graph and the layout of f on threads
// goroutines, sending progress
// frames, a first Layout after a tenth of the epochs, LayoutDelta frames at
// a quarter, half and three quarters, and the final Layout.
func (s *Server) computeLayout(ctx context.Context, f *deepercluster.Features, threads int) error {
	run := wire.RunHash(s.info().ID)
	var last time.Time
	progress := func(stage string, done float64) {
		if now := time.Now(); done >= 1 || now.Sub(last) >= s.cfg.ProgressEvery {
			last = now
			s.hub.Publish(wire.AppendLayoutProgress(nil, run, f.Version, deepercluster.LayoutProgress{Stage: stage, Done: done}))
		}
	}
	progress("knn", 0)
	began := time.Now()
	g, err := layout2d.KNN(ctx, f.Data, f.N, f.Dim, layout2d.KNNOptions{K: layoutK, Threads: threads,
		Seed: uint64(f.Version), Progress: func(done float64) { progress("knn", done) }})
	if err != nil {
		return fmt.Errorf("knn graph: %w", err)
	}
	knnT := time.Since(began)
	// A later version's map starts from the map clients hold (the same
	// images, features moved a little by training) and needs a quarter of
	// the epochs: the background layout after each reclustering costs
	// training less, and the map keeps its shape from version to version.
	var initX, initY []float32
	epochs := layout2d.DefaultEpochs(f.N)
	if prev := s.currentLayout(); prev != nil && len(prev.X) == f.N && len(prev.Y) == f.N {
		initX, initY = prev.X, prev.Y
		epochs = layout2d.WarmEpochs(f.N)
	}
	if s.cfg.LayoutEpochs > 0 {
		epochs = s.cfg.LayoutEpochs
	}
	first := max(1, epochs/10)
	at := []int{first}
	for _, q := range []int{epochs / 4, epochs / 2, 3 * epochs / 4} {
		if q > at[len(at)-1] && q < epochs {
			at = append(at, q)
		}
	}
	var sent *deepercluster.Layout // what the clients hold
	var pubErr error
	snapshot := func(epoch int, xs, ys []float32) {
		l := &deepercluster.Layout{Version: f.Version, X: xs, Y: ys}
		if sent == nil {
			pubErr = s.publishLayoutIf(ctx, l)
		} else {
			pubErr = s.publishLayoutDeltaIf(ctx, layoutDelta(sent, l))
		}
		if pubErr == nil {
			sent = l
		}
	}
	progress("layout", 0)
	xs, ys, err := layout2d.Embed(ctx, g, f.Data, f.Dim, layout2d.EmbedOptions{Epochs: epochs, Threads: threads,
		Seed: uint64(f.Version), Progress: func(done float64) { progress("layout", done) },
		SnapshotAt: at, Snapshot: snapshot, InitX: initX, InitY: initY})
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if pubErr != nil {
		return pubErr
	}
	// Where the time went (bench-start reads it).
	s.log.Info("layout computed", "version", f.Version, "knn_s", math.Round(knnT.Seconds()*10)/10,
		"embed_s", math.Round((time.Since(began)-knnT).Seconds()*10)/10, "threads", threads,
		"epochs", epochs, "warm", initX != nil)
	return s.publishLayoutIf(ctx, &deepercluster.Layout{Version: f.Version, Final: true, X: xs, Y: ys})
}

// layoutDelta lists the points of next that moved from prev by more than a
// quantisation step of next's bounding box.
func layoutDelta(prev, next *deepercluster.Layout) *deepercluster.LayoutDelta {
	minX, minY, maxX, maxY := next.Bounds()
	tx, ty := float64(maxX-minX)/wire.LayoutQuant, float64(maxY-minY)/wire.LayoutQuant
	d := &deepercluster.LayoutDelta{Version: next.Version, Final: next.Final, N: len(next.X)}
	for i := range next.X {
		if math.Abs(float64(next.X[i]-prev.X[i])) > tx || math.Abs(float64(next.Y[i]-prev.Y[i])) > ty {
			d.Index = append(d.Index, uint32(i))
			d.X = append(d.X, next.X[i])
			d.Y = append(d.Y, next.Y[i])
		}
	}
	return d
}

// publishLayoutIf publishes l unless ctx is done: a cancelled layout never
// replaces the newer one that cancelled it.
func (s *Server) publishLayoutIf(ctx context.Context, l *deepercluster.Layout) error {
	return s.publishLayout(l, func() error { return ctx.Err() })
}

func (s *Server) publishLayoutDeltaIf(ctx context.Context, d *deepercluster.LayoutDelta) error {
	return s.publishLayoutDelta(d, func() error { return ctx.Err() })
}

var _ deepercluster.TrainingHolder = (*Server)(nil)
