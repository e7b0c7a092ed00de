package deepercluster

// MaxHistoryPoints bounds the step points a History keeps: a chart of the
// whole run at a fixed cost however long the run (older points are merged
// in pairs, see AddStep).
const MaxHistoryPoints = 512

// StepPoint is the mean of Stride consecutive training steps.
type StepPoint struct {
	// Epoch is the epoch of the bucket's last step.
	Epoch              int
	LossSuper, LossSub float64
	PrecSuper, PrecSub float64
}

// History is what a run has measured so far, kept in its run directory
// and sent to every client that connects, so that a restarted server or a
// late browser shows the whole run, not only what happened since.
type History struct {
	// Stride is how many training steps each point of Steps averages (a
	// power of two, 1 at the start).
	Stride int
	// Steps are the loss and precision of both heads, oldest first.
	Steps []StepPoint
	// Metrics are the figures of every reclustering, oldest first.
	Metrics []Metrics

	pend  StepPoint // sums of the bucket being filled
	npend int
}

// AddStep adds one training step. Steps are averaged in buckets of Stride;
// when more than MaxHistoryPoints buckets are full, neighbours are merged
// and Stride doubles, so a History built from the same steps is always the
// same.
func (h *History) AddStep(epoch int, lossSuper, lossSub, precSuper, precSub float64) {
	if h.Stride < 1 {
		h.Stride = 1
	}
	h.pend.LossSuper += lossSuper
	h.pend.LossSub += lossSub
	h.pend.PrecSuper += precSuper
	h.pend.PrecSub += precSub
	h.npend++
	if h.npend < h.Stride {
		return
	}
	f := 1 / float64(h.npend)
	h.Steps = append(h.Steps, StepPoint{Epoch: epoch, LossSuper: h.pend.LossSuper * f, LossSub: h.pend.LossSub * f,
		PrecSuper: h.pend.PrecSuper * f, PrecSub: h.pend.PrecSub * f})
	h.pend, h.npend = StepPoint{}, 0
	if len(h.Steps) > MaxHistoryPoints {
		m := h.Steps[:0]
		for i := 0; i+1 < len(h.Steps); i += 2 {
			a, b := h.Steps[i], h.Steps[i+1]
			m = append(m, StepPoint{Epoch: b.Epoch, LossSuper: (a.LossSuper + b.LossSuper) / 2, LossSub: (a.LossSub + b.LossSub) / 2,
				PrecSuper: (a.PrecSuper + b.PrecSuper) / 2, PrecSub: (a.PrecSub + b.PrecSub) / 2})
		}
		if len(h.Steps)%2 == 1 {
			// The odd last point starts the next, twice as wide, bucket.
			l, w := h.Steps[len(h.Steps)-1], float64(h.Stride)
			h.pend = StepPoint{LossSuper: l.LossSuper * w, LossSub: l.LossSub * w, PrecSuper: l.PrecSuper * w, PrecSub: l.PrecSub * w}
			h.npend = h.Stride
		}
		h.Steps = m
		h.Stride *= 2
	}
}

// AddMetrics adds the figures of a reclustering, replacing those of the
// same version (a reclustering redone after a crash).
func (h *History) AddMetrics(m Metrics) {
	for i := range h.Metrics {
		if h.Metrics[i].Version == m.Version {
			h.Metrics = append(h.Metrics[:i], m)
			return
		}
	}
	h.Metrics = append(h.Metrics, m)
}

// Clone is a copy that shares nothing with h.
func (h *History) Clone() History {
	c := *h
	c.Steps = append([]StepPoint(nil), h.Steps...)
	c.Metrics = append([]Metrics(nil), h.Metrics...)
	return c
}
