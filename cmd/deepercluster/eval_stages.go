package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/deepercluster/deepercluster/internal/npy"
)

// stageRows is the output of each of a network's convolution stages
// (after its max-pool) for the scored images: x[i] holds n rows of
// dims[i] values. eval --refine-stages clusters them beside the features.
type stageRows struct {
	x    [][]float32
	dims []int
}

// blocks returns one refinement block for each of the stages numbered in
// list (from 1), each to be whitened to dim dimensions (the stage's width
// where that is less) at weight 1.
func (s *stageRows) blocks(list []int, dim int) ([]rowBlock, error) {
	out := make([]rowBlock, 0, len(list))
	for _, st := range list {
		if st > len(s.x) {
			return nil, fmt.Errorf("--refine-stages %d: the network has %d stages", st, len(s.x))
		}
		out = append(out, rowBlock{name: fmt.Sprintf("--refine-stages: stage %d", st), x: s.x[st-1], d: s.dims[st-1],
			dim: min(dim, s.dims[st-1]), weight: 1})
	}
	return out, nil
}

// parseStages reads --refine-stages: stage numbers from 1, comma-separated,
// each once; nil for the empty string.
func parseStages(v string) ([]int, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		st, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || st < 1 {
			return nil, fmt.Errorf("--refine-stages %q: %q is not a stage number (1, 2, ...)", v, f)
		}
		if slices.Contains(out, st) {
			return nil, fmt.Errorf("--refine-stages %q: stage %d given twice", v, st)
		}
		out = append(out, st)
	}
	return out, nil
}

// stageFile is the .npy file of stage i (from 0) in a features directory:
// eval_stage1.npy, eval_stage2.npy, ...
func stageFile(i int) string { return fmt.Sprintf("eval_stage%d.npy", i+1) }

// readStages loads a peer's stage outputs for the scored images:
// dir/eval_stage1.npy, eval_stage2.npy, ... up to the first missing one,
// each with at least nScored rows (the first nScored are kept).
func readStages(dir string, nScored int) (stageRows, error) {
	var s stageRows
	for i := 0; ; i++ {
		path := filepath.Join(dir, stageFile(i))
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			break
		}
		rows, d, x, err := npy.Read[float32](path)
		if err != nil {
			return stageRows{}, err
		}
		if rows < nScored {
			return stageRows{}, fmt.Errorf("%s: %d rows, want %d (one per scored image)", path, rows, nScored)
		}
		s.x, s.dims = append(s.x, x[:nScored*d]), append(s.dims, d)
	}
	if len(s.x) == 0 {
		return stageRows{}, fmt.Errorf("%s: no such file: the features directory holds no stage outputs", filepath.Join(dir, stageFile(0)))
	}
	return s, nil
}
