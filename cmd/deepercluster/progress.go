package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/deepercluster/deepercluster"
)

// progressEvery is the pace of progress lines where stderr is not a
// terminal: often enough to see that a long ingest or epoch moves, rarely
// enough that a CI log or a service's journal stays readable.
const progressEvery = 10 * time.Second

// isTerminal reports whether w is a terminal (a character device). A
// progress bar redraws itself with carriage returns, which a file, a pipe
// or a journal turns into blank or garbled lines; where this is false we
// log progress lines instead (progressLines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLines logs progress as slog lines at a steady pace: the first
// report of each stage (an epoch's phase, say) at once, then at most one
// line per every. It is what a progress bar becomes without a terminal.
type progressLines struct {
	log   *slog.Logger
	msg   string
	every time.Duration
	now   func() time.Time
	stage string
	last  time.Time
}

// newProgressLines logs msg lines through log every progressEvery.
func newProgressLines(log *slog.Logger, msg string) *progressLines {
	return &progressLines{log: log, msg: msg, every: progressEvery, now: time.Now}
}

// report logs attrs when stage differs from the last report's, when final
// is set (the end of a stage), or when every has passed since the last line;
// otherwise it drops them. It reports whether it logged.
func (p *progressLines) report(stage string, final bool, attrs ...any) bool {
	now := p.now()
	if stage == p.stage && !final && now.Sub(p.last) < p.every {
		return false
	}
	p.stage, p.last = stage, now
	p.log.Info(p.msg, attrs...)
	return true
}

// newBarObserver reports a run's progress on a's stderr: a bar on a
// terminal, lines elsewhere. It keeps each clustering's features in run
// directory dir (OnFeatures).
func newBarObserver(a *app, dir string) *barObserver {
	b := &barObserver{w: a.stderr, dir: dir, log: a.log}
	if !isTerminal(a.stderr) {
		b.lines = newProgressLines(a.log, "progress")
	}
	return b
}

// logProgress is OnProgress without a terminal: a line at the start and
// end of each epoch's phase, and every progressEvery between.
func (b *barObserver) logProgress(p deepercluster.Progress) {
	stage := fmt.Sprintf("%d/%s", p.Epoch, p.Phase)
	if p.Phase == deepercluster.PhaseTraining {
		b.lines.report(stage, p.Step == p.Steps, "epoch", p.Epoch+1, "epochs", p.Epochs, "phase", string(p.Phase),
			"step", p.Step, "steps", p.Steps, "loss_super", round3(p.LossSuper), "loss_sub", round3(p.LossSub),
			"prec_super", round3(p.PrecSuper), "prec_sub", round3(p.PrecSub), "images_per_sec", math.Round(p.ImagesPerSec))
		return
	}
	b.lines.report(stage, p.Done >= 1, "epoch", p.Epoch+1, "epochs", p.Epochs, "phase", string(p.Phase),
		"done", fmt.Sprintf("%.0f%%", 100*p.Done))
}

// round3 rounds to 3 decimals, for log lines that people read.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
