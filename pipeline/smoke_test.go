package pipeline

import (
	"context"
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
)

func double(x int) int { return 2 * x }

func init() { register.Function1x1(double) }

func TestSmoke(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	c := beam.Create(s, 1, 2, 3)
	d := beam.ParDo(s, double, c)
	stats.Sum(s, d)
	if _, err := prism.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	beam.Init()
	os.Exit(m.Run())
}
