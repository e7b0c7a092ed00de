// Command ptxgen regenerates gpu/kernels/ptx from the kernel sources with
// clang-19 (`make ptx`); the PTX is committed because the GPU machines have
// no compiler. The PTX test in gpu/kernels runs the same code and fails when
// the committed copy differs.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/deepercluster/deepercluster/gpu/kernels"
)

func main() {
	clang := flag.String("clang", "clang-19", "clang binary with the NVPTX target (Debian clang-19)")
	dir := flag.String("dir", "gpu/kernels", "kernels directory (compat.h and *"+kernels.Ext+")")
	out := flag.String("out", "gpu/kernels/ptx", "output directory for NAME.ptx")
	flag.Parse()
	if err := kernels.GeneratePTX(context.Background(), *clang, *dir, *out); err != nil {
		slog.Error("ptxgen", "err", err)
		os.Exit(1)
	}
}
