package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/internal/npy"
)

// TestServeFeatures: `serve --features` on a .npy clusters it without
// training, with m and k from the number of images (the log says both);
// a file that does not fit the dataset stops serve with one line.
func TestServeFeatures(t *testing.T) {
	dir := t.TempDir()
	const n, dim = 200, 5
	data := make([]float32, n*dim)
	for i := range n {
		for j := range dim {
			data[i*dim+j] = float32((i*31+j*17)%13) + float32(i%4*20*(j%2))
		}
	}
	good := filepath.Join(dir, "good.npy")
	short := filepath.Join(dir, "short.npy")
	if err := npy.Write(good, n, dim, data); err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(short, n-1, dim, data[:(n-1)*dim]); err != nil {
		t.Fatal(err)
	}

	a, _, _ := testApp()
	err := runServe(context.Background(), a, []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "bad"),
		"--images", "200", "--features", short})
	if err == nil || !strings.Contains(err.Error(), "199 rows, the dataset has 200 images") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("serve with a short features file: %v, want one line naming the row counts", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var logs syncBuffer
	a = &app{stdout: pw, stderr: io.Discard, log: slog.New(slog.NewTextHandler(&logs, nil))}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, a, []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "run"), "--images", "200",
			"--features", good, "--pca-dim", "4"})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL printed: %v (serve: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSpace(line[strings.Index(line, "http://"):])
	var info struct {
		Version uint32
		Dataset string
		Params  struct{ M, K int }
		Phase   string
	}
	deadline := time.Now().Add(time.Minute)
	for info.Version < 1 || info.Phase != "stopped" {
		if time.Now().After(deadline) {
			t.Fatalf("no clustering within a minute: %+v", info)
		}
		time.Sleep(50 * time.Millisecond)
		resp, err := http.Get(base + "api/run")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	// 200 images: round(200/32) = 6 sub-clusters, m = 1, k = 6.
	if info.Params.M != 1 || info.Params.K != 6 || !strings.Contains(info.Dataset, "features good.npy") {
		t.Fatalf("/api/run: %+v, want m=1 k=6 on synthetic + features good.npy", info)
	}
	for _, want := range []string{"m and k chosen from the number of images", "run on features from a file: no training"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(logs.String(), "epoch done") {
		t.Error("the log shows a trained epoch")
	}
}
