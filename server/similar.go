package server

import (
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
// wait in a mailbox for the server's loop, which indexes them.
func (s *Server) OnFeatures(f *deepercluster.Features) {
	if f == nil {
		return
	}
	s.mu.Lock()
	if s.pendF == nil || f.Version >= s.pendF.Version {
		s.pendF = f
	}
	s.mu.Unlock()
	s.signal()
}

// takeFeatures indexes features waiting in the mailbox, if any.
func (s *Server) takeFeatures() {
	s.mu.Lock()
	f := s.pendF
	s.pendF = nil
	s.mu.Unlock()
	if f == nil {
		return
	}
	idx, err := newSimilarIndex(f, s.ds.Len())
	if err != nil {
		s.log.Error("features for similar images", "version", f.Version, "err", err)
		return
	}
	s.mu.Lock()
	if s.similar == nil || f.Version >= s.similar.f.Version {
		s.similar = idx
	}
	s.mu.Unlock()
	s.log.Info("similar images ready", "version", f.Version, "images", f.N, "dim", f.Dim, "bytes", 4*len(f.Data))
}

func (s *Server) similarIndex() *similarIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.similar
}
