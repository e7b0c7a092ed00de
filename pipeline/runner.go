// Package pipeline runs the heavy batch steps of DeeperCluster Explorer
// as Apache Beam pipelines (Go SDK), for collections past one machine:
// Ingest turns YFCC100M metadata and a folder of photos into a sharded
// dataset, Recluster extracts features per shard and runs the two-level
// k-means with the assignment step as Beam work. Both run on Prism, in
// process (the default, for tests and small runs), or on any portable
// runner (Flink, Spark) through its job server. See docs/SCALE.md.
//
// Workers of a portable runner read and write the paths they are given
// directly: the dataset, the work directory and the run directory must be
// on a filesystem every worker mounts at the same path.
package pipeline

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

// Runner names.
const (
	// RunnerPrism runs pipelines on Prism, in this process.
	RunnerPrism = "prism"
	// RunnerUniversal submits pipelines to a portable job server (Flink's
	// or Spark's), at Runner.Endpoint.
	RunnerUniversal = "universal"
)

// Runner says where pipelines run.
type Runner struct {
	// Name is RunnerPrism (or empty) or RunnerUniversal.
	Name string
	// Endpoint is the job server, HOST:PORT; required for RunnerUniversal.
	Endpoint string
	// EnvironmentType and EnvironmentConfig tell a portable runner how to
	// start workers (Beam's --environment_type and
	// --environment_config: DOCKER with an image, PROCESS with a boot
	// command, or LOOPBACK to run them in this process); empty leaves
	// Beam's defaults (LOOPBACK on Prism).
	EnvironmentType, EnvironmentConfig string
}

// execMu serialises pipeline submissions: Beam keeps the job endpoint and
// environment in its own package-level flags.
var execMu sync.Mutex

// Validate checks the runner's name and endpoint.
func (r Runner) Validate() error {
	switch r.Name {
	case "", RunnerPrism:
		return nil
	case RunnerUniversal:
		if r.Endpoint == "" {
			return fmt.Errorf("runner %s needs --endpoint HOST:PORT (a Flink or Spark job server)", r.Name)
		}
		return nil
	}
	return fmt.Errorf("runner %q: want %s or %s", r.Name, RunnerPrism, RunnerUniversal)
}

// Execute runs p and waits for it to finish. beam.Init must have been
// called (in main, or TestMain).
func (r Runner) Execute(ctx context.Context, p *beam.Pipeline) error {
	if err := r.Validate(); err != nil {
		return err
	}
	execMu.Lock()
	defer execMu.Unlock()
	if r.EnvironmentType != "" {
		*jobopts.EnvironmentType = r.EnvironmentType
		*jobopts.EnvironmentConfig = r.EnvironmentConfig
	}
	var err error
	switch r.Name {
	case "", RunnerPrism:
		if r.Endpoint != "" {
			*jobopts.Endpoint = r.Endpoint
		}
		_, err = prism.Execute(ctx, p)
	case RunnerUniversal:
		*jobopts.Endpoint = r.Endpoint
		_, err = universal.Execute(ctx, p)
	}
	if err != nil {
		return fmt.Errorf("pipeline on %s: %w", r.label(), err)
	}
	return nil
}

func (r Runner) label() string {
	if r.Name == "" {
		return RunnerPrism
	}
	return r.Name
}
