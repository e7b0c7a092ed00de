package server

import (
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
)

// trainedSteps is how many training steps the run has taken (its history
// keeps one point a step at this size).
func trainedSteps(l *liveRun) int {
	h := l.run.History()
	return len(h.Steps) * max(h.Stride, 1)
}

// waitTrained waits for training to end and fails on an error or after a
// minute (a training held for good).
func waitTrained(t *testing.T, l *liveRun) {
	t.Helper()
	select {
	case err := <-l.trainE:
		if err != nil {
			t.Fatalf("train: %v", err)
		}
		l.trainE <- nil // for shutdown
	case <-time.After(60 * time.Second):
		t.Fatalf("training did not end: %d steps, held for good?", trainedSteps(l))
	}
}

// TestFirstMapHoldsTraining runs the real trainer and server: while the
// run's first map computes, training takes no step (every look at the
// steps taken before the final map is published finds none), and once it
// is published training goes on to its last epoch. The second
// reclustering's map runs beside training without holding it.
func TestFirstMapHoldsTraining(t *testing.T) {
	const n, epochs = 400, 4
	l := startLive(t, t.TempDir(), n, epochs, Config{LayoutEpochs: 3000})
	during := 0
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
		steps := trainedSteps(l)
		lay := l.s.currentLayout()
		if lay != nil && lay.Final {
			break
		}
		if lay != nil { // the first map is under way: it was published in part
			during++
			if steps != 0 {
				t.Fatalf("%d training steps while the first map computes", steps)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final first map after 60 s: %+v", lay)
		}
	}
	if during == 0 {
		t.Fatal("never saw the first map under way (raise LayoutEpochs)")
	}
	waitTrained(t, l)
	if got, want := len(l.run.EpochSummaries()), epochs; got != want {
		t.Fatalf("trained %d epochs after the first map, want %d", got, want)
	}
	if steps := trainedSteps(l); steps == 0 {
		t.Fatal("no training step after the first map")
	}
	if v := l.run.Info().Version; v < 2 {
		t.Fatalf("version %d: the run reclustered no more after its first map", v)
	}
}

// TestNoMapNeverHoldsTraining: where no first map will come, training
// is not held: too few images for a map, or the server's background work
// (and with it the first map) cancelled while the map computes.
func TestNoMapNeverHoldsTraining(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		cancel bool // stop the server's Run once the first map is under way
	}{
		{name: "too few images", n: 2*layoutK - 1},
		{name: "layout cancelled", n: 400, cancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const epochs = 3
			tcfg := tinyTrainerConfig(t.TempDir(), epochs)
			tcfg.Batch, tcfg.EpochSize = 8, 64
			l := startLiveWith(t, tc.n, tcfg, Config{LayoutEpochs: 20000})
			if tc.cancel {
				waitLayout(t, l.s, func(lay *deepercluster.Layout) bool { return !lay.Final })
				if steps := trainedSteps(l); steps != 0 {
					t.Fatalf("%d training steps while the first map computes", steps)
				}
				l.stopBG()
				<-l.bgDone
			}
			waitTrained(t, l)
			if got := len(l.run.EpochSummaries()); got != epochs {
				t.Fatalf("trained %d epochs, want %d", got, epochs)
			}
			if lay := l.s.currentLayout(); lay != nil && lay.Final {
				t.Fatalf("a final map of version %d, want none", lay.Version)
			}
			l.s.mu.Lock()
			held := l.s.trainHold != nil
			l.s.mu.Unlock()
			if held {
				t.Fatal("training still held at the end")
			}
		})
	}
}
