package trainer

import (
	"context"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
)

// fanout delivers a run's events to an Observer from its own goroutine, so
// that a slow or stuck observer never stalls training. Progress events are
// coalesced (only the latest waiting one is delivered: it supersedes the
// others); Assignments and Metrics are rare and queued in order, never
// dropped.
type fanout struct {
	obs deepercluster.Observer

	mu       sync.Mutex
	cond     *sync.Cond
	progress *deepercluster.Progress
	queue    []func()
	closed   bool
	done     chan struct{}
	// features is closed once the latest Features queued have reached
	// the observer (nil before any): hold waits for it.
	features chan struct{}
}

func newFanout(obs deepercluster.Observer) *fanout {
	f := &fanout{obs: obs, done: make(chan struct{})}
	f.cond = sync.NewCond(&f.mu)
	if obs == nil {
		close(f.done)
		f.closed = true
		return f
	}
	go f.loop()
	return f
}

func (f *fanout) loop() {
	defer close(f.done)
	for {
		f.mu.Lock()
		for !f.closed && f.progress == nil && len(f.queue) == 0 {
			f.cond.Wait()
		}
		if f.progress == nil && len(f.queue) == 0 {
			f.mu.Unlock()
			return
		}
		// Queued events first, in order; then the latest progress.
		var fn func()
		if len(f.queue) > 0 {
			fn = f.queue[0]
			f.queue = f.queue[1:]
		} else {
			p := *f.progress
			f.progress = nil
			fn = func() { f.obs.OnProgress(p) }
		}
		f.mu.Unlock()
		fn()
	}
}

func (f *fanout) Progress(p deepercluster.Progress) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.progress = &p
	f.cond.Signal()
}

func (f *fanout) push(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.queue = append(f.queue, fn)
	f.cond.Signal()
}

func (f *fanout) Assignment(a *deepercluster.Assignment) { f.push(func() { f.obs.OnAssignment(a) }) }
func (f *fanout) Metrics(m deepercluster.Metrics)        { f.push(func() { f.obs.OnMetrics(m) }) }

// Features delivers the features of a clustering to an observer that
// wants them (a deepercluster.FeatureObserver); others never see them.
func (f *fanout) Features(x *deepercluster.Features) {
	fo, ok := f.obs.(deepercluster.FeatureObserver)
	if !ok {
		return
	}
	delivered := make(chan struct{})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.features = delivered
	f.queue = append(f.queue, func() {
		defer close(delivered)
		fo.OnFeatures(x)
	})
	f.cond.Signal()
}

// hold waits, between two training steps, while an observer that is a
// deepercluster.TrainingHolder holds training, and returns how long it
// waited. It first lets the Features queued so far reach the observer,
// since they are what the server holds for (a run's first map): without
// that, training would take steps while they wait in the queue. A signal
// on interrupt (a recluster request) ends the wait, so that a user's
// request is not put off behind the map. Observers that are not holders
// never stall training.
func (f *fanout) hold(ctx context.Context, interrupt <-chan struct{}) time.Duration {
	h, ok := f.obs.(deepercluster.TrainingHolder)
	if !ok {
		return 0
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-interrupt:
			cancel()
		case <-ctx.Done():
		}
	}()
	f.mu.Lock()
	delivered := f.features
	f.mu.Unlock()
	if delivered != nil {
		select {
		case <-delivered:
		case <-ctx.Done():
			return time.Since(start)
		}
	}
	h.HoldTraining(ctx)
	return time.Since(start)
}

// close stops accepting events and waits up to wait for the queued ones to
// be delivered; it reports whether they all were.
func (f *fanout) close(wait time.Duration) bool {
	f.mu.Lock()
	f.closed = true
	f.cond.Signal()
	f.mu.Unlock()
	select {
	case <-f.done:
		return true
	case <-time.After(wait):
		return false
	}
}
