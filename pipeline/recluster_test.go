package pipeline

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/trainer"
)

// shardSynthetic writes the synthetic dataset as a sharded dataset.
func shardSynthetic(t *testing.T, dir string, n, res int, sizes []int) *synthetic.Dataset {
	t.Helper()
	syn, err := synthetic.New(synthetic.Config{Seed: 4, N: n, Resolution: res})
	if err != nil {
		t.Fatal(err)
	}
	img := make([]byte, deepercluster.ImageBytes(res))
	var names []string
	i := 0
	for s, size := range sizes {
		w, err := dataset.CreateDir(filepath.Join(dir, dataset.ShardName(s)), res, false)
		if err != nil {
			t.Fatal(err)
		}
		for range size {
			if err := syn.Image(i, img); err != nil {
				t.Fatal(err)
			}
			if err := w.Add(img, dataset.Entry{Meta: syn.Meta(i)}); err != nil {
				t.Fatal(err)
			}
			i++
		}
		if _, err := w.Commit(dataset.Manifest{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, dataset.ShardName(s))
	}
	if i != n {
		t.Fatalf("shards hold %d images, want %d", i, n)
	}
	if _, err := dataset.CommitSharded(dir, names, dataset.Manifest{}); err != nil {
		t.Fatal(err)
	}
	return syn
}

// TestReclusterAdoptsAVersion runs the whole `pipeline recluster` on a
// run whose checkpoint holds a freshly initialised network: the features
// extracted per shard and the clustering agree with the single-machine
// path, and the run directory gets a version the trainer loads.
func TestReclusterAdoptsAVersion(t *testing.T) {
	ctx := context.Background()
	const n, res = 600, 16
	ds := filepath.Join(t.TempDir(), "sharded")
	shardSynthetic(t, ds, n, res, []int{250, 150, 200})
	run := t.TempDir()
	model := trainer.ModelConfig{Resolution: res, Width: 4, Depth: trainer.DefaultDepth(res), ConvsPerStage: 1, Hidden: 16}
	trunk, err := trainer.InitTrunk(model, 7)
	if err != nil {
		t.Fatal(err)
	}
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 3, K: 2, PCADim: 8, ReclusterEvery: 1}
	if err := trainer.SaveCheckpoint(run, &trainer.Checkpoint{Model: model, Params: params, Seed: 7, Tensors: trunk}); err != nil {
		t.Fatal(err)
	}
	for want := uint32(1); want <= 2; want++ {
		got, err := Recluster(ctx, ReclusterConfig{RunDir: run, Dataset: ds, Iters: 5})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != want || got.Images != n {
			t.Fatalf("version %d for %d images, want %d for %d", got.Version, got.Images, want, n)
		}
		a, err := trainer.LoadAssignment(run, got.Version)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Super) != n || a.M != 3 || len(a.SubParent) != 6 {
			t.Fatalf("assignment of %d images, m %d, %d sub-clusters", len(a.Super), a.M, len(a.SubParent))
		}
		ck, err := trainer.LoadCheckpoint(run)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Version != got.Version || ck.HeadS != 12 || ck.HeadK != 2 {
			t.Fatalf("checkpoint at version %d with heads %dx%d, want %d with 12x2", ck.Version, ck.HeadS, ck.HeadK, got.Version)
		}
		// The checkpoint, heads included, loads into a backend as a resume does.
		net, err := trainer.NewCPUBackend(trainer.BackendConfig{Model: model, Batch: 2, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if err := net.LoadState(ck.State()); err != nil {
			t.Fatal(err)
		}
		net.Close()

		// The single-machine path on the same network, dataset and seed.
		if want == 1 {
			net, _, err := trainer.LoadBackend(run, trainer.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sd, err := dataset.OpenSharded(ds)
			if err != nil {
				t.Fatal(err)
			}
			feats, err := trainer.ExtractFeatures(ctx, net, sd, nil)
			sd.Close()
			net.Close()
			if err != nil {
				t.Fatal(err)
			}
			seed := uint64(7) ^ uint64(got.Version)*0x9e3779b97f4a7c15
			single, err := cluster.Hierarchy(ctx, feats, n, got.FeatureDim, cluster.HierarchyConfig{Preset: params.Preset, M: 3, K: 2, PCADim: 8, Iters: 5, Seed: seed}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want []int32
			}{{"super", a.Super, single.Assignment.Super}, {"sub", a.Sub, single.Assignment.Sub}} {
				nmi := cluster.NMI(c.got, c.want)
				t.Logf("%s NMI %.4f against the single-machine path", c.name, nmi)
				if nmi < 0.99 {
					t.Errorf("%s: NMI %.4f against the single-machine path", c.name, nmi)
				}
			}
		}
	}
}
