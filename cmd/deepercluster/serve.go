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

	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/dataset/source"
	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/index"
	"github.com/deepercluster/deepercluster/internal/par"
	"github.com/deepercluster/deepercluster/internal/runlock"
	"github.com/deepercluster/deepercluster/server"
	"github.com/deepercluster/deepercluster/trainer"
)

// runServe trains in the background and serves the explorer until ctx is
// cancelled (SIGINT/SIGTERM); it then stops training at a safe point,
// checkpoints, closes the index and returns nil. Started again on the same
// --data-dir it resumes.
func runServe(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "serve")
	dsSpec := fs.String("dataset", source.SpecSynthetic, "dataset: synthetic, fashion-mnist, mnist, a dataset directory or a folder of photos (ingested into <data-dir>/dataset)")
	dataDir := fs.String("data-dir", "runs/default", "run directory (checkpoints, assignments, index, cluster notes, features); resumed if it holds a run")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address; a non-loopback address requires a token")
	token := fs.String("token", "", "token for POST endpoints and /ws (generated when listening off loopback)")
	allow := fs.String("allow-origin", "", "comma-separated extra websocket origins to accept (\"*\": any)")
	dsFlags := addDatasetFlags(fs)
	fs.IntVar(&dsFlags.n, "images", 0, "synthetic: number of images (same as --n)")
	rf := addRunFlags(fs, 100)
	ff := addFeatureFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	var origins []string
	for _, o := range strings.Split(*allow, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}

	start := time.Now()
	// While a request is in flight the HTTP side gets one P more than the
	// training kernels use, so a search waits for the OS's time slices
	// only, never for the Go scheduler to preempt a kernel; idle, the
	// kernels have the machine to themselves (docs/ENGINEERING-NOTES.md).
	par.ReserveForRequests(ctx, time.Second)
	// Before anything reads or writes the directory (the index too).
	lock, err := runlock.Acquire(*dataDir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer lock.Release()
	ds, err := dsFlags.open(ctx, a, *dsSpec, *dataDir, fashionmnist.Train)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	params, err := rf.params(ds.Len())
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	feats, err := ff.load(ctx, ds)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	model, err := rf.model(ds.Resolution())
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// A missing device fails before the port or the index is touched.
	comp, err := gpu.OpenCompute(*rf.device, a.log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer comp.Close()
	rf.logChosen(a.log, ds.Len(), params)
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
	srv, err := server.New(server.Config{Addr: *addr, Token: *token, AllowOrigins: origins, DataDir: *dataDir}, ds, ix, a.log)
	if err != nil {
		ix.Close()
		return err
	}
	name := *dsSpec
	if feats != nil {
		name += " + features " + filepath.Base(ff.path)
	}
	run, err := trainer.NewRun(ctx, withCompute(rf.trainerConfig(trainer.Config{
		Dir: *dataDir, DatasetName: name, Params: params, Logger: a.log, Model: model, Features: feats,
	}), comp), ds, srv)
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
	// Past its epochs the run still applies recluster requests (no training).
	go func() { trainDone <- run.TrainAndServe(trainCtx) }()

	var result error
	select {
	case err := <-serveErr:
		result = fmt.Errorf("serve: %w", err)
		a.log.Error("http server stopped", "err", err)
	case err := <-trainDone:
		trainDone <- err
		if err != nil && ctx.Err() == nil {
			a.log.Error("training stopped; still serving (Ctrl-C to stop)", "err", err)
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
