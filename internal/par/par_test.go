package par

import (
	"runtime"
	"testing"
)

func TestReserveForRequests(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	steps := []struct {
		name             string
		do               func()
		wantProcs, wantT int
	}{
		{"before: kernels use every P", func() {}, procs, procs},
		{"reserved: one more P, kernels as before", ReserveForRequests, procs + 1, procs},
		{"a second call changes nothing", ReserveForRequests, procs + 1, procs},
	}
	for _, s := range steps {
		s.do()
		if got, gotT := runtime.GOMAXPROCS(0), Threads(); got != s.wantProcs || gotT != s.wantT {
			t.Fatalf("%s: GOMAXPROCS %d, Threads %d; want %d and %d", s.name, got, gotT, s.wantProcs, s.wantT)
		}
	}
}
