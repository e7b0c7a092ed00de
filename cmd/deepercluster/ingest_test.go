package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset"
)

func testApp() (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &app{stdout: &out, stderr: &errb, log: slog.New(slog.NewTextHandler(&errb, nil))}, &out, &errb
}

// yfccLine builds a 23-column YFCC100M line in the published format.
func yfccLine(id, tags string) string {
	return strings.Join([]string{id, "30302697@N00", "pirate+jen", "2005-06-12 14:52:41.0", "1118596361",
		"Canon+PowerShot+S410", "Gnome+prank", "", tags, "", "", "", "",
		"http://www.flickr.com/photos/30302697@N00/" + id + "/",
		"http://farm1.staticflickr.com/6/" + id + "_3c2cfb0a3b.jpg",
		"Attribution-NonCommercial-ShareAlike License", "http://creativecommons.org/licenses/by-nc-sa/2.0/",
		"6", "1", "3c2cfb0a3b", "3c2cfb0a3b", "jpg", "0"}, "\t")
}

func writeImage(t *testing.T, path string, png_ bool) {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 60, 40))
	for y := range 40 {
		for x := range 60 {
			m.Set(x, y, color.RGBA{uint8(4 * x), uint8(6 * y), 90, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if png_ {
		err = png.Encode(f, m)
	} else {
		err = jpeg.Encode(f, m, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestIngestThenInfo runs the two commands as a user would: ingest a YFCC
// file with good and bad lines and a folder with a missing and a corrupt
// image, then check what `info --json` reports.
func TestIngestThenInfo(t *testing.T) {
	dir := t.TempDir()
	images := filepath.Join(dir, "img")
	os.Mkdir(images, 0o755)
	writeImage(t, filepath.Join(images, "7088065.jpg"), false)
	writeImage(t, filepath.Join(images, "11.png"), true)
	writeImage(t, filepath.Join(images, "12.jpg"), false)
	os.WriteFile(filepath.Join(images, "13.jpg"), []byte("corrupt"), 0o644)
	lines := []string{
		yfccLine("7088065", "2005,bushschool,gnome,prank,washington"),
		"this line is not YFCC",
		yfccLine("11", "gnome,new+york"),
		yfccLine("12", "gnome,2005"),
		yfccLine("13", "gnome"),       // corrupt image
		yfccLine("14", "gnome"),       // no image
		yfccLine("x5", "gnome"),       // bad photo id
		yfccLine("15", "gnome,%E9%%"), // bad encoding
	}
	meta := filepath.Join(dir, "yfcc100m_dataset")
	os.WriteFile(meta, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	out := filepath.Join(dir, "ds")

	a, _, errb := testApp()
	err := runIngest(context.Background(), a, []string{"--yfcc", meta, "--images", images, "--size", "16", "--out", out})
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, errb)
	}
	log := errb.String()
	for _, want := range []string{"bad_lines=3", "missing_images=2", "line 2:", "line 5:", "line 6:", "line 7", "line 8"} {
		if !strings.Contains(log, want) {
			t.Errorf("ingest log lacks %q:\n%s", want, log)
		}
	}

	a, stdout, errb := testApp()
	if err := runInfo(context.Background(), a, []string{"--json", out}); err != nil {
		t.Fatalf("info: %v\n%s", err, errb)
	}
	if n := strings.Count(strings.TrimSpace(stdout.String()), "\n"); n != 0 {
		t.Errorf("info --json printed %d lines, want one object", n+1)
	}
	var info struct {
		Images        *int  `json:"images"`
		BadLines      *int  `json:"bad_lines"`
		MissingImages *int  `json:"missing_images"`
		Labels        *bool `json:"labels"`
		TopTags       []struct {
			Tag   string `json:"tag"`
			Count int    `json:"count"`
		} `json:"top_tags"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		t.Fatalf("info output %q: %v", stdout, err)
	}
	if info.Images == nil || info.BadLines == nil || info.MissingImages == nil || info.Labels == nil {
		t.Fatalf("keys missing: %s", stdout)
	}
	if *info.Images != 3 || *info.BadLines != 3 || *info.MissingImages != 2 || *info.Labels {
		t.Errorf("info: %s", stdout)
	}
	if len(info.TopTags) < 2 || info.TopTags[0].Tag != "gnome" || info.TopTags[0].Count != 3 ||
		info.TopTags[1].Tag != "2005" || info.TopTags[1].Count != 2 {
		t.Errorf("top tags: %+v", info.TopTags)
	}

	// The human summary says the same.
	a, stdout, _ = testApp()
	if err := runInfo(context.Background(), a, []string{out}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 at 16x16", "gnome(3)", "3 bad"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}

	// A directory left by a killed ingest is refused by info.
	os.Remove(filepath.Join(out, "manifest.json"))
	a, _, _ = testApp()
	if err := runInfo(context.Background(), a, []string{"--json", out}); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("info on a directory without manifest: %v", err)
	}
}

func TestInfoBuiltins(t *testing.T) {
	a, stdout, errb := testApp()
	if err := runInfo(context.Background(), a, []string{"--json", "--n", "200", "synthetic"}); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	var info map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info["images"] != float64(200) || info["labels"] != true || info["bad_lines"] != float64(0) || info["missing_images"] != float64(0) {
		t.Errorf("synthetic info: %s", stdout)
	}
	if tags, _ := info["top_tags"].([]any); len(tags) == 0 {
		t.Errorf("synthetic has no top tags: %s", stdout)
	}
	a, _, _ = testApp()
	err := runInfo(context.Background(), a, []string{"--json", "--fashion-mnist-dir", t.TempDir(), "fashion-mnist"})
	if err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
		t.Errorf("fashion-mnist without files: %v", err)
	}
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"); err == nil {
		a, stdout, _ = testApp()
		if err := runInfo(context.Background(), a, []string{"--json", "--split", "test", "fashion-mnist"}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout.String(), `"images":10000`) || !strings.Contains(stdout.String(), `"labels":true`) {
			t.Errorf("fashion-mnist test split: %s", stdout)
		}
	}
}

func TestIngestFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--yfcc", "x"},
		{"--yfcc", "x", "--images", "y"},
		{"--bogus"},
		{"--images", "x"},
		{"--images", "x", "--out", "y", "--autotags", "z"},
		{"--yfcc", "x", "--images", "y", "--out", "z", "--meta", "m.csv"},
		{"--images", "/nonexistent", "--out", "y"},
	} {
		a, _, _ := testApp()
		if err := runIngest(context.Background(), a, args); err == nil {
			t.Errorf("ingest %q accepted", args)
		}
	}
	a, _, _ := testApp()
	if err := runInfo(context.Background(), a, nil); err == nil {
		t.Error("info without a dataset accepted")
	}
}

// TestIngestFolderThenInfoAndTrain runs the folder commands as a user
// would: ingest a nested folder with a CSV table, read it back with info,
// then train on the plain folder twice: the first run ingests it into a
// cache beside the run, the second reuses the cache.
func TestIngestFolderThenInfoAndTrain(t *testing.T) {
	root := t.TempDir()
	photos := filepath.Join(root, "photos")
	for i := range 12 {
		dir := filepath.Join(photos, []string{"cats", "dogs/small"}[i%2])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeImage(t, filepath.Join(dir, "p"+string(rune('a'+i))+".jpg"), i%3 == 0)
	}
	if err := os.WriteFile(filepath.Join(photos, "cats", "bad.jpg"), []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(root, "meta.csv")
	if err := os.WriteFile(meta, []byte("file,tags\ncats/pa.jpg,\"tabby,sofa\"\ncats/gone.jpg,lost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "ds")
	a, _, errb := testApp()
	if err := runIngest(context.Background(), a, []string{"--images", photos, "--meta", meta, "--out", out, "--size", "40", "--thumb-px", "48", "--quiet"}); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errb)
	}
	a, stdout, errb := testApp()
	if err := runInfo(context.Background(), a, []string{"--json", out}); err != nil {
		t.Fatalf("info: %v\n%s", err, errb)
	}
	var info datasetInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info.Images != 12 || info.Resolution != 40 || info.ThumbPx != 48 || info.ImageFiles != 13 || info.CorruptImages != 1 ||
		info.MissingFiles != 1 || info.FilesWithoutRow != 12 {
		t.Errorf("info: %+v", info)
	}
	tags := map[string]int{}
	for _, tc := range info.TopTags {
		tags[tc.Tag] = tc.Count
	}
	if tags["cats"] != 6 || tags["dogs"] != 6 || tags["small"] != 6 || tags["tabby"] != 1 {
		t.Errorf("top tags %v", info.TopTags)
	}
	// info on the plain folder says how to use it.
	a, _, _ = testApp()
	if err := runInfo(context.Background(), a, []string{photos}); err == nil || !strings.Contains(err.Error(), "folder of images") {
		t.Errorf("info on a folder: %v", err)
	}

	run := filepath.Join(root, "run")
	for i, want := range []string{"ingest done", "reusing the cache"} {
		a, _, errb := testApp()
		err := runTrain(context.Background(), a, []string{"--dataset", photos, "--out", run, "--epochs", fmt.Sprint(i + 1), "--m", "2", "--k", "2",
			"--pca-dim", "4", "--recluster-every", "1", "--batch", "4", "--width", "4", "--hidden", "8"})
		if err != nil {
			t.Fatalf("train %d: %v\n%s", i, err, errb)
		}
		if !strings.Contains(errb.String(), want) {
			t.Errorf("train %d: the log does not say %q:\n%s", i, want, errb)
		}
	}
	if _, err := os.Stat(filepath.Join(run, "dataset", "thumbs.jpg")); err != nil {
		t.Errorf("no cache with display copies beside the run: %v", err)
	}
}

// TestInfoSharded: `info --json` on a sharded dataset (what
// `deepercluster-pipeline ingest` writes) prints the shards' summed counts.
func TestInfoSharded(t *testing.T) {
	dir := t.TempDir()
	images := filepath.Join(dir, "img")
	os.Mkdir(images, 0o755)
	writeImage(t, filepath.Join(images, "11.jpg"), false)
	writeImage(t, filepath.Join(images, "12.png"), true)
	writeImage(t, filepath.Join(images, "21.jpg"), false)
	parts := [][]string{
		{yfccLine("11", "gnome"), "not YFCC", yfccLine("12", "gnome,sky"), yfccLine("13", "gnome")},
		{yfccLine("21", "sky"), yfccLine("x2", "sky"), yfccLine("22", "sky")},
	}
	out := filepath.Join(dir, "sharded")
	var names []string
	for s, lines := range parts {
		meta := filepath.Join(dir, fmt.Sprint("part", s))
		os.WriteFile(meta, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		name := dataset.ShardName(s)
		a, _, errb := testApp()
		if err := runIngest(context.Background(), a, []string{"--yfcc", meta, "--images", images, "--size", "16", "--out", filepath.Join(out, name), "--quiet"}); err != nil {
			t.Fatalf("ingest: %v\n%s", err, errb)
		}
		names = append(names, name)
	}
	if _, err := dataset.CommitSharded(out, names, dataset.Manifest{}); err != nil {
		t.Fatal(err)
	}
	a, stdout, errb := testApp()
	if err := runInfo(context.Background(), a, []string{"--json", out}); err != nil {
		t.Fatalf("info: %v\n%s", err, errb)
	}
	var info struct {
		TopTags []struct {
			Tag   string `json:"tag"`
			Count int    `json:"count"`
		} `json:"top_tags"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		t.Fatalf("info output %q: %v", stdout, err)
	}
	var raw map[string]any
	json.Unmarshal(stdout.Bytes(), &raw)
	for _, c := range []struct {
		key  string
		want float64
	}{{"images", 3}, {"lines", 7}, {"bad_lines", 2}, {"missing_images", 2}, {"shards", 2}} {
		if raw[c.key] != c.want {
			t.Errorf("info %s = %v, want %v (%s)", c.key, raw[c.key], c.want, stdout)
		}
	}
	if len(info.TopTags) != 2 || info.TopTags[0].Tag != "gnome" || info.TopTags[0].Count != 2 || info.TopTags[1].Tag != "sky" || info.TopTags[1].Count != 2 {
		t.Errorf("top tags %+v, want gnome(2) sky(2) over both shards", info.TopTags)
	}
}
