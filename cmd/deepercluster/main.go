// Command deepercluster learns image features from unlabeled photos with the
// DeeperCluster method and shows the clusters live in a browser.
//
// Usage:
//
//	deepercluster [serve] [flags]        train in the background and serve the UI (default)
//	deepercluster train   [flags]        train from the command line
//	deepercluster ingest  [flags]        turn a folder of photos or a YFCC100M subset into a dataset directory
//	deepercluster info    [flags] DATASET
//	deepercluster eval    [flags]        linear-probe evaluation of a checkpoint
//	deepercluster export  [flags]        a run's clusters as CSV, JSON Lines or Parquet
//	deepercluster export-model [flags]   a checkpoint's network as safetensors or ONNX
//	deepercluster version                module version, commit and Go version
//	deepercluster help                   the commands (also -h, --help)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// app is what every subcommand gets: where to write and how to log.
type app struct {
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// command is one subcommand of the binary.
type command struct {
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":        {"train in the background and serve the explorer UI (default)", runServe},
		"train":        {"train a network on a dataset", runTrain},
		"ingest":       {"turn a folder of photos (with a metadata table) or a YFCC100M subset into a dataset directory", runIngest},
		"info":         {"describe a dataset (synthetic, fashion-mnist or a directory)", runInfo},
		"eval":         {"linear-probe evaluation of a checkpoint's features", runEval},
		"export":       {"write a run's clusters (and features) as CSV, JSON Lines or Parquet", runExport},
		"version":      {"print the module version, commit and Go version", runVersion},
		"export-model": {"write a checkpoint's network as safetensors (PyTorch) or ONNX", runExportModel},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{
		stdout: os.Stdout,
		stderr: os.Stderr,
		log:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if err := dispatch(ctx, a, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "deepercluster:", err)
		os.Exit(1)
	}
}

// dispatch picks the subcommand; with none, or with a flag first, it
// serves. help, -h and --help first list the commands (`serve --help` gives
// serve's flags).
func dispatch(ctx context.Context, a *app, args []string) error {
	cmds := commands()
	if len(args) > 0 && isHelp(args[0]) {
		usage(a.stdout, cmds)
		return nil
	}
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	c, ok := cmds[name]
	if !ok {
		usage(a.stderr, cmds)
		return fmt.Errorf("unknown command %q", name)
	}
	return c.run(ctx, a, args)
}

// isHelp says whether arg asks for the list of commands.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// usage lists the commands, one line each, and where their flags are.
func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	width := 0
	for n := range cmds {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: deepercluster <command> [flags]")
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, cmds[n].summary)
	}
	fmt.Fprintln(w, "With no command (or flags first), deepercluster serves.")
	fmt.Fprintln(w, "Run 'deepercluster <command> --help' for a command's flags.")
}

// newFlagSet makes a flag set that reports errors instead of exiting.
func newFlagSet(a *app, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("deepercluster "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	return fs
}
