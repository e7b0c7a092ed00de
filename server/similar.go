package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// similarIndex is the exact nearest-neighbour search over the features of
// the latest clustering. The server keeps one, the latest: its memory is
// the features themselves (4*N*Dim bytes, 256 MB for 1,000,000 images at
// Dim 64) plus one float per image.
type similarIndex struct {
	f   *deepercluster.Features
	knn *cluster.KNN
}

func newSimilarIndex(f *deepercluster.Features, n int) (*similarIndex, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.N != n {
		return nil, fmt.Errorf("features of version %d cover %d images, the dataset has %d", f.Version, f.N, n)
	}
	knn, err := cluster.NewKNN(f.Data, f.N, f.Dim)
	if err != nil {
		return nil, err
	}
	return &similarIndex{f: f, knn: knn}, nil
}

// OnFeatures implements deepercluster.FeatureObserver: the newest features
// wait in a mailbox for the server's loop, which indexes them (and keeps
// them in the run directory, see FeaturesFile).
func (s *Server) OnFeatures(f *deepercluster.Features) { s.offerFeatures(f, false) }

func (s *Server) offerFeatures(f *deepercluster.Features, fromDisk bool) {
	if f == nil {
		return
	}
	s.mu.Lock()
	if s.pendF == nil || f.Version >= s.pendF.Version {
		s.pendF, s.pendFromDisk = f, fromDisk
	}
	// Hold training from now on (the trainer asks once OnFeatures has
	// returned): these features will be the run's first map.
	s.holdTrainingLocked(f)
	s.mu.Unlock()
	s.signal()
}

// takeFeatures indexes features waiting in the mailbox, if any, and starts
// their 2D layout (cancelled by ctx or by the next features).
func (s *Server) takeFeatures(ctx context.Context) {
	s.mu.Lock()
	f, fromDisk := s.pendF, s.pendFromDisk
	s.pendF = nil
	s.mu.Unlock()
	if f == nil {
		return
	}
	idx, err := newSimilarIndex(f, s.ds.Len())
	if err != nil {
		s.log.Error("features for similar images", "version", f.Version, "err", err)
		s.mu.Lock()
		busy := s.layoutBusy
		s.mu.Unlock()
		if !busy {
			s.releaseTraining() // no map comes of these features
		}
		return
	}
	s.mu.Lock()
	if s.similar == nil || f.Version >= s.similar.f.Version {
		s.similar = idx
	}
	s.mu.Unlock()
	s.log.Info("similar images ready", "version", f.Version, "images", f.N, "dim", f.Dim, "bytes", 4*len(f.Data), "from_disk", fromDisk)
	s.startLayout(ctx, f)
	if s.cfg.DataDir != "" && !fromDisk {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.saveMu.Lock()
			defer s.saveMu.Unlock()
			if cur := s.similarIndex(); cur == nil || cur.f != f {
				return // a newer version came meanwhile: it is saved instead
			}
			if err := saveFeatures(s.cfg.DataDir, f); err != nil {
				s.log.Error("save features", "version", f.Version, "err", err)
			}
		}()
	}
}

// restoreFeatures reads the features kept in the run directory and offers
// them when they belong to Assignment version v (the one the run resumed
// with); features of another version are not the latest clustering's.
func (s *Server) restoreFeatures(v uint32) {
	if s.cfg.DataDir == "" {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f, err := loadFeatures(s.cfg.DataDir)
		switch {
		case errors.Is(err, errNoFeatures):
			return
		case err != nil:
			s.log.Warn("saved features not used", "err", err)
			return
		case f.Version != v:
			s.log.Info("saved features are of another version", "saved", f.Version, "assignment", v)
			return
		}
		s.offerFeatures(f, true)
	}()
}

func (s *Server) similarIndex() *similarIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.similar
}
