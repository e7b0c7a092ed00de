package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepercluster/deepercluster/modelexport"
	"github.com/deepercluster/deepercluster/modelexport/onnxmodel"
)

// runExportModel writes a run's trained network in a format other tools
// load: safetensors under the parameter names of
// scripts/deepercluster_model.py (PyTorch), or a self-contained ONNX
// model. It only reads the checkpoint, which the trainer replaces
// atomically, so it takes no run lock: a network can be exported while
// the run still trains or is served.
func runExportModel(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "export-model")
	ckDir := fs.String("checkpoint", "", "run directory holding checkpoint.bin")
	format := fs.String("format", "", "safetensors or onnx (empty: from --out's extension)")
	out := fs.String("out", "", "file to write (.safetensors or .onnx)")
	heads := fs.Bool("heads", false, "also export the classifier heads (safetensors: head_super, head_sub; onnx: outputs super_logits, sub_logits)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: deepercluster export-model --checkpoint DIR --format safetensors|onnx --out FILE [--heads]")
		fmt.Fprintln(fs.Output(), "The model takes NCHW float32 RGB in [0,1] at the run's resolution and outputs the features (fc2 before its ReLU).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("export-model: unexpected argument %q", fs.Arg(0))
	}
	if *ckDir == "" {
		return errors.New("export-model: --checkpoint DIR is required (a run directory written by train or serve)")
	}
	if *out == "" {
		return errors.New("export-model: --out FILE is required")
	}
	f := *format
	if f == "" {
		f = strings.TrimPrefix(filepath.Ext(*out), ".")
	}
	if f != "safetensors" && f != "onnx" {
		return fmt.Errorf("export-model: --format must be safetensors or onnx, got %q", f)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if st, err := os.Stat(*ckDir); err != nil || !st.IsDir() {
		return fmt.Errorf("export-model: --checkpoint %s: not a run directory", *ckDir)
	}
	net, err := modelexport.Load(*ckDir, *heads)
	if err != nil {
		return fmt.Errorf("export-model: %w", err)
	}
	if f == "onnx" {
		err = onnxmodel.Write(*out, net)
	} else {
		err = modelexport.WriteSafetensors(*out, net)
	}
	if err != nil {
		return fmt.Errorf("export-model: %w", err)
	}
	m := net.Model
	a.log.Info("exported model", "checkpoint", *ckDir, "format", f, "out", *out, "heads", *heads)
	fmt.Fprintf(a.stdout, "wrote %s (%s): input images (N, 3, %d, %d) float32 RGB in [0,1]; output features (N, %d)",
		*out, f, m.Resolution, m.Resolution, m.Hidden)
	if *heads {
		fmt.Fprintf(a.stdout, "; heads %d super-classes x %d sub-classes", net.HeadS, net.HeadK)
	}
	fmt.Fprintln(a.stdout)
	return nil
}
