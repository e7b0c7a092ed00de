package trainer

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/deepercluster/deepercluster"
)

// LatestAssignmentVersion is the highest Assignment version stored in the
// run directory dir (0 when there is none).
func LatestAssignmentVersion(dir string) (uint32, error) {
	ents, err := os.ReadDir(filepath.Join(dir, AssignmentDir))
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("run directory %s: %w", dir, err)
	}
	var latest uint32
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "v") || !strings.HasSuffix(name, ".bin") {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSuffix(name[1:], ".bin"), 10, 32)
		if err == nil && uint32(v) > latest {
			latest = uint32(v)
		}
	}
	return latest, nil
}

// AdoptAssignment makes a as computed elsewhere (a distributed
// reclustering) the run's current clustering, as the trainer does after
// its own: a gets the next version, is stored beside the others, and the
// checkpoint points at it with fresh classifier heads of its shape (old
// heads and their momentum dropped), clustered at the checkpoint's epoch.
// `serve` and `train` resuming the run then start from it. The caller
// holds the run directory's lock. It returns the version given to a.
func AdoptAssignment(dir string, a *deepercluster.Assignment) (uint32, error) {
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		return 0, err
	}
	if err := a.Validate(); err != nil {
		return 0, fmt.Errorf("adopt assignment: %w", err)
	}
	latest, err := LatestAssignmentVersion(dir)
	if err != nil {
		return 0, err
	}
	a.Version = max(latest, ck.Version) + 1
	if err := SaveAssignment(dir, a); err != nil {
		return 0, err
	}
	s, k := headShape(a, ck.Params.Preset != deepercluster.PresetDeepCluster)
	kept := ck.Tensors[:0:0]
	for _, t := range ck.Tensors {
		if !strings.HasPrefix(t.Name, "head/") && !strings.HasPrefix(t.Name, momentumPrefix+"head/") {
			kept = append(kept, t)
		}
	}
	rng := rand.New(rand.NewPCG(ck.Seed, uint64(a.Version)))
	ck.Tensors = append(kept, InitHeads(s, k, ck.Model.Hidden, rng)...)
	ck.HeadS, ck.HeadK = s, k
	ck.Version = a.Version
	ck.ClusteredEpoch = ck.Epoch
	if err := SaveCheckpoint(dir, ck); err != nil {
		return 0, fmt.Errorf("adopt assignment v%d: %w", a.Version, err)
	}
	return a.Version, nil
}
