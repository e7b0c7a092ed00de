package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/index"
	"github.com/deepercluster/deepercluster/server"
	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/trainer/dataset"
)

// runServe trains in the background and serves the explorer until ctx is
// cancelled (SIGINT/SIGTERM); it then stops training at a safe point,
// checkpoints, closes the index and returns nil. Started again on the same
// --data-dir it resumes.
func runServe(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "serve")
	dsSpec := fs.String("dataset", dataset.SpecSynthetic, "dataset: synthetic, fashion-mnist or a dataset directory")
	dataDir := fs.String("data-dir", "runs/default", "run directory (checkpoints, assignments, index); resumed if it holds a run")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address; a non-loopback address requires a token")
	token := fs.String("token", "", "token for POST endpoints and /ws (generated when listening off loopback)")
	allow := fs.String("allow-origin", "", "comma-separated extra websocket origins to accept (\"*\": any)")
	def := trainer.DefaultParams()
	preset := fs.String("preset", string(def.Preset), "method: deepercluster, deepcluster or rotnet")
	m := fs.Int("m", def.M, "number of super-clusters")
	k := fs.Int("k", def.K, "number of sub-clusters per super-cluster")
	every := fs.Int("recluster-every", def.ReclusterEvery, "recluster every T epochs")
	pca := fs.Int("pca-dim", def.PCADim, "PCA dimensions before k-means")
	epochs := fs.Int("epochs", 100, "total training epochs")
	dsFlags := addDatasetFlags(fs)
	fs.IntVar(&dsFlags.n, "images", 0, "synthetic: number of images (same as --n)")
	// Model and schedule knobs, zero meaning the trainer's defaults: small
	// models make crash, load and demo runs fast on a CPU.
	width := fs.Int("width", 0, "channels of the first conv stage (0: default model)")
	depth := fs.Int("depth", 0, "number of conv stages (0: default model)")
	convs := fs.Int("convs", 0, "convolutions per stage (0: default model)")
	hidden := fs.Int("hidden", 0, "width of the fc layers (0: default model)")
	batch := fs.Int("batch", 0, "training batch size (0: default)")
	epochSize := fs.Int("epoch-size", 0, "samples per epoch (0: dataset size)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	p, err := deepercluster.ParsePreset(*preset)
	if err != nil {
		return fmt.Errorf("serve: --preset: %w", err)
	}
	params := deepercluster.RunParams{Preset: p, M: *m, K: *k, ReclusterEvery: *every, PCADim: *pca}
	if p == deepercluster.PresetDeepCluster && *m == def.M {
		params.M = 1
	}
	if p == deepercluster.PresetRotNet && *k == def.K {
		params.K = 1
	}
	var origins []string
	for _, o := range strings.Split(*allow, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}

	start := time.Now()
	ds, err := dataset.Open(*dsSpec, dsFlags.options(dataset.Train))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := params.Validate(ds.Len()); err != nil {
		return fmt.Errorf("serve: --%s", strings.ReplaceAll(err.Error(), "_", "-"))
	}
	// Listen first: a taken port fails before any training starts.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close()
	ix, err := index.Open(filepath.Join(*dataDir, "index"), ds, index.Options{Logger: a.log})
	if err != nil {
		return fmt.Errorf("serve: open index: %w", err)
	}
	srv, err := server.New(server.Config{Addr: *addr, Token: *token, AllowOrigins: origins}, ds, ix, a.log)
	if err != nil {
		ix.Close()
		return err
	}
	model := trainer.ModelConfig{}
	if *width != 0 || *depth != 0 || *convs != 0 || *hidden != 0 {
		model = trainer.DefaultModelConfig(ds.Resolution())
		for _, f := range []struct {
			v   int
			dst *int
		}{{*width, &model.Width}, {*depth, &model.Depth}, {*convs, &model.ConvsPerStage}, {*hidden, &model.Hidden}} {
			if f.v != 0 {
				*f.dst = f.v
			}
		}
		if err := model.Validate(); err != nil {
			ix.Close()
			return fmt.Errorf("serve: model flags: %w", err)
		}
	}
	run, err := trainer.NewRun(ctx, trainer.Config{
		Dir: *dataDir, DatasetName: *dsSpec, Params: params, Epochs: *epochs, Logger: a.log,
		Model: model, Batch: *batch, EpochSize: *epochSize,
	}, ds, srv)
	if err != nil {
		ix.Close()
		return fmt.Errorf("serve: %w", err)
	}
	srv.SetRun(run)

	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.Run(bg) }()

	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	url := "http://" + ln.Addr().String() + "/"
	if srv.Token() != "" {
		url += "?token=" + srv.Token()
	}
	fmt.Fprintf(a.stdout, "DeeperCluster Explorer: %s\n", url)
	a.log.Info("serving", "addr", ln.Addr().String(), "dataset", *dsSpec, "images", ds.Len(), "run", *dataDir, "ready_in", time.Since(start).Round(time.Millisecond))

	trainCtx, stopTrain := context.WithCancel(ctx)
	defer stopTrain()
	trainDone := make(chan error, 1)
	go func() { trainDone <- run.Train(trainCtx) }()

	var result error
	select {
	case err := <-serveErr:
		result = fmt.Errorf("serve: %w", err)
		a.log.Error("http server stopped", "err", err)
	case err := <-trainDone:
		trainDone <- err
		if err != nil && ctx.Err() == nil {
			a.log.Error("training stopped", "err", err)
		} else {
			a.log.Info("training finished; still serving (Ctrl-C to stop)")
		}
		<-ctx.Done()
	case <-ctx.Done():
	}
	a.log.Info("shutting down: stopping training at a safe point")
	stopTrain()
	if err := <-trainDone; err != nil && !errors.Is(err, context.Canceled) {
		a.log.Error("training", "err", err)
	}
	run.Close()
	srv.CloseClients()
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	hs.Shutdown(shutCtx)
	cancel()
	stopBG()
	wg.Wait()
	if err := ix.Close(); err != nil {
		return fmt.Errorf("serve: close index: %w", err)
	}
	a.log.Info("stopped", "version", run.Info().Version)
	return result
}
