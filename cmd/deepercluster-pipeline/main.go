// Command deepercluster-pipeline runs the heavy batch steps of
// DeeperCluster Explorer as Apache Beam pipelines, for collections past
// one machine. It is a second binary so that Beam's dependencies stay out
// of `deepercluster` and the browser client.
//
// Usage:
//
//	deepercluster-pipeline ingest    [flags]   YFCC100M metadata + photos -> sharded dataset
//	deepercluster-pipeline recluster [flags]   checkpoint + sharded dataset -> next Assignment version
//
// Both take --runner prism (default: in this process) or --runner
// universal --endpoint HOST:PORT (a Flink or Spark job server). The same
// binary is the worker a portable runner starts (Beam's boot loader calls
// it with --worker); see the README, "Scale-out with Apache Beam".
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

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// app is what every subcommand gets: where to write and how to log.
type app struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

type command struct {
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"ingest":    {"YFCC100M metadata + a folder of photos -> a sharded dataset, as a Beam pipeline", runIngest},
		"recluster": {"a run's checkpoint + its sharded dataset -> the run's next Assignment version, as Beam pipelines", runRecluster},
	}
}

func main() {
	// Beam's own flags (and, in a worker, the harness's) come before the
	// subcommand; beam.Init turns this process into a worker when asked.
	flag.Parse()
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr,
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if err := dispatch(ctx, a, flag.Args()); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "deepercluster-pipeline:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, a *app, args []string) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" {
		usage(a.stdout, cmds)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(a.stderr, cmds)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, a, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: deepercluster-pipeline <command> [flags]")
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
}

func newFlagSet(a *app, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("deepercluster-pipeline "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	return fs
}
