package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/internal/npy"
	"github.com/deepercluster/deepercluster/trainer"
)

// mainEnv, set in a child process of this test binary, makes it run the
// real main with the rest of its arguments, so a test sees main's exit
// status and stderr without building the binary.
const mainEnv = "DEEPERCLUSTER_TEST_RUN_MAIN"

// argSep separates main's arguments in the environment (paths may hold
// spaces).
const argSep = "\x1f"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Args = append(os.Args[:1], strings.Split(os.Getenv(mainEnv+"_ARGS"), argSep)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs main in a child process with args and env added, and
// returns its exit status and stderr.
func runMain(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, mainEnv+"=1", mainEnv+"_ARGS="+strings.Join(args, argSep))...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run main: %v", err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// tinyTrain is a train run small enough for PoCL: 48 images of 16 px, a
// 4-channel network, batch 8, one clustering per epoch.
func tinyTrain(out, dev string, epochs int) []string {
	return []string{"train", "--out", out, "--device", dev, "--n", "48", "--size", "16", "--width", "4", "--hidden", "16",
		"--batch", "8", "--m", "2", "--k", "2", "--pca-dim", "4", "--recluster-every", "1", "--epochs", strconv.Itoa(epochs)}
}

// TestTrainDeviceUnavailable: --device cuda without an NVIDIA driver (or
// opencl pointed at a library that is not there) exits 1 with one line
// that names what is missing, before touching the run directory.
func TestTrainDeviceUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name, device string
		env          []string
		want         []string
	}{
		{"cuda missing library", "cuda", []string{device.CUDALibraryEnv + "=/nonexistent/libcuda.so.1"},
			[]string{"--device cuda", "libcuda.so.1", "/nonexistent/libcuda.so.1", "device unavailable"}},
		{"opencl missing library", "opencl", []string{device.OpenCLLibraryEnv + "=/nonexistent/libOpenCL.so.1"},
			[]string{"--device opencl", "libOpenCL.so.1", "/nonexistent/libOpenCL.so.1", "device unavailable"}},
		{"unknown device", "tpu", nil, []string{`unknown device "tpu"`, "auto, cpu, cuda or opencl"}},
		{"serve cuda missing library", "cuda", []string{device.CUDALibraryEnv + "=/nonexistent/libcuda.so.1"},
			[]string{"deepercluster: serve: --device cuda", "libcuda.so.1", "device unavailable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			args, prefix := tinyTrain(out, tc.device, 1), "deepercluster: train: "
			if strings.HasPrefix(tc.name, "serve") {
				args = []string{"serve", "--data-dir", out, "--addr", "127.0.0.1:0", "--images", "48", "--size", "16", "--device", tc.device}
				prefix = "deepercluster: serve: "
			}
			code, stderr := runMain(t, tc.env, args...)
			if code != 1 {
				t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr)
			}
			line := strings.TrimRight(stderr, "\n")
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, prefix) {
				t.Fatalf("stderr is not one error line:\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("error line lacks %q: %s", w, line)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "checkpoint.bin")); err == nil {
				t.Error("a checkpoint was written although the device is missing")
			}
		})
	}
}

// TestTrainDeviceCUDAOnThisMachine: --device cuda as a user types it,
// with the library searched on the loader's path and the distributions'
// paths. Where no NVIDIA GPU is (CI), it exits 1 with one line naming the
// library and every path searched (or the missing device).
func TestTrainDeviceCUDAOnThisMachine(t *testing.T) {
	d, openErr := device.OpenCUDA()
	if openErr == nil {
		d.Close()
		t.Skip("an NVIDIA GPU is present here, so --device cuda trains; the GPU tests (gpu-check.sh) cover that case")
	}
	out := filepath.Join(t.TempDir(), "run")
	code, stderr := runMain(t, nil, tinyTrain(out, "cuda", 1)...)
	line := strings.TrimRight(stderr, "\n")
	if code != 1 || strings.Contains(line, "\n") {
		t.Fatalf("exit status %d, stderr:\n%s\nwant 1 and one line", code, stderr)
	}
	if !strings.Contains(line, openErr.Error()) {
		t.Fatalf("error line %q does not carry the driver's reason %q", line, openErr)
	}
	if !strings.Contains(line, "libcuda.so.1") || !(strings.Contains(line, "searched") || strings.Contains(line, "device")) {
		t.Fatalf("error line %q names neither the library and paths searched nor the device", line)
	}
	t.Logf("one line: %s", line)
}

// trainAt runs train in process and returns its log and the checkpoint.
func trainAt(t *testing.T, out, dev string, epochs int) (string, *trainer.Checkpoint) {
	t.Helper()
	var logs bytes.Buffer
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := dispatch(context.Background(), a, tinyTrain(out, dev, epochs)); err != nil {
		t.Fatalf("train --device %s --epochs %d: %v\nlog:\n%s", dev, epochs, err, logs.String())
	}
	ck, err := trainer.LoadCheckpoint(out)
	if err != nil {
		t.Fatalf("after train --device %s: %v", dev, err)
	}
	return logs.String(), ck
}

// TestTrainDeviceAuto: --device auto (the default) trains on the CPU
// where no CUDA device is found, and logs that choice and why.
func TestTrainDeviceAuto(t *testing.T) {
	want := "device=cpu"
	if d, err := device.OpenCUDA(); err == nil {
		d.Close()
		want = "device=cuda"
	}
	logs, ck := trainAt(t, filepath.Join(t.TempDir(), "run"), "auto", 1)
	if !strings.Contains(logs, "compute device") || !strings.Contains(logs, want) {
		t.Fatalf("log does not say %q:\n%s", want, logs)
	}
	if want == "device=cpu" && !strings.Contains(logs, "no CUDA device") {
		t.Errorf("log does not say why auto chose the CPU:\n%s", logs)
	}
	if ck.Epoch != 1 || ck.Version == 0 {
		t.Fatalf("checkpoint at epoch %d version %d, want epoch 1 and a clustering", ck.Epoch, ck.Version)
	}
}

// TestTrainOpenCLCheckpointMoves trains a tiny run with --device opencl
// (PoCL in CI), resumes it on the CPU, then again on OpenCL: the
// checkpoint (trainer.State) moves between devices both ways, and each
// resume goes on from the epoch the other device reached.
func TestTrainOpenCLCheckpointMoves(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	for i, dev := range []string{"opencl", "cpu", "opencl"} {
		logs, ck := trainAt(t, out, dev, i+1)
		if !strings.Contains(logs, "device="+dev) {
			t.Fatalf("step %d: log does not say device=%s:\n%s", i, dev, logs)
		}
		if ck.Epoch != i+1 {
			t.Fatalf("after train --device %s --epochs %d: checkpoint at epoch %d", dev, i+1, ck.Epoch)
		}
		if ck.Version != uint32(i+1) {
			t.Fatalf("after train --device %s: assignment version %d, want %d (one clustering per epoch)", dev, ck.Version, i+1)
		}
		if i > 0 && !strings.Contains(logs, "resum") {
			t.Errorf("step %d (%s) did not resume:\n%s", i, dev, logs)
		}
	}
}

// TestEvalOpenCL: eval --device opencl (PoCL in CI) extracts a
// checkpoint's features as the CPU does (relative difference <= 1e-3 over
// every dumped feature), so a probe scores the same network on either;
// --refine-stages, which the OpenCL backend does not serve, takes the
// stages from the same weights on the CPU.
func TestEvalOpenCL(t *testing.T) {
	if _, err := os.Stat(filepath.Join(fashionmnist.DefaultDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Fashion-MNIST not installed (Debian dataset-fashion-mnist; .ci/run installs it)")
	}
	run := filepath.Join(t.TempDir(), "run")
	a, _, errb := testApp()
	if err := runTrain(context.Background(), a, []string{"--dataset", "fashion-mnist", "--out", run, "--max-images", "200",
		"--epochs", "1", "--m", "2", "--k", "2", "--width", "4", "--hidden", "16", "--pca-dim", "8", "--device", "cpu"}); err != nil {
		t.Fatalf("train: %v\n%s", err, errb)
	}
	feats, stages := map[string][]float32{}, map[string][]float32{}
	for _, dev := range []string{"cpu", "opencl"} {
		dump := t.TempDir()
		a, _, errb := testApp()
		if err := runEval(context.Background(), a, []string{"--checkpoint", run, "--device", dev, "--split", "val", "--max-train", "200",
			"--max-test", "100", "--kmeans-restarts", "1", "--dump-features", dump, "--refine", "--refine-stages", "2",
			"--refine-stages-dim", "4", "--refine-neighbours", "5", "--refine-steps", "10", "--refine-self-steps", "10", "--refine-starts", "1"}); err != nil {
			t.Fatalf("eval --device %s: %v\n%s", dev, err, errb)
		}
		rows, cols, st, err := npy.Read[float32](filepath.Join(dump, "eval_stage2.npy"))
		if err != nil || rows != 100 || cols != 7*7*8 {
			t.Fatalf("eval --device %s dumped %d x %d of stage 2 (%v), want 100 x %d", dev, rows, cols, err, 7*7*8)
		}
		stages[dev] = st
		rows, cols, f, err := npy.Read[float32](filepath.Join(dump, "train.npy"))
		if err != nil || rows != 200 || cols != 16 {
			t.Fatalf("eval --device %s dumped %d x %d features (%v), want 200 x 16", dev, rows, cols, err)
		}
		feats[dev] = f
	}
	var num, den float64
	for i, v := range feats["cpu"] {
		d := float64(feats["opencl"][i] - v)
		num, den = num+d*d, den+float64(v)*float64(v)
	}
	if rel := math.Sqrt(num / den); !(rel <= 1e-3) {
		t.Fatalf("eval features: relative difference %.2g between --device opencl and cpu, want <= 1e-3", rel)
	}
	if !slices.Equal(stages["cpu"], stages["opencl"]) {
		t.Errorf("--refine-stages: the stages of --device opencl differ from the CPU's: both come from the CPU backend")
	}
}
