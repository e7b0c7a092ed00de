package trainer

import (
	"context"
	"fmt"
	"math"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/internal/par"
)

// The feature extraction path. Extraction runs the trunk in eval mode only,
// so it needs no graph, no tape and no gradients: gorgonia's tape machine
// spends most of an extraction in im2col of NCHW tensors, transposes and
// buffer copies (the matrix products were about 4% of it). This file is a
// direct float32 forward pass over the same weight tensors: activations in
// NHWC (channels last), so each convolution is three (pixels x 3*Cin) x
// (3*Cin x Cout) products of cluster.Sgemm over one row-patch matrix
// (kxcolNHWC, three contiguous pixels a row) whose result is already NHWC;
// eval-mode BatchNorm folded into the weights and a per-channel shift; ReLU
// and the 2x2 max-pool fused into the product's epilogue; buffers kept
// across calls; images split over the cores. TestFastExtractMatchesGraph
// holds it to gorgonia's extraction graph (cpu_ref_test.go).

// inferConv is one 3x3, stride 1, pad 1 convolution of the plan, with its
// eval-mode BatchNorm folded in: y = relu(conv(x, w) + shift), then an
// optional 2x2 max-pool.
type inferConv struct {
	cin, cout, side int       // side: input (and output) height = width
	w               []float32 // (9*cin, cout), row (ky*3+kx)*cin+ci, BN scale folded in
	shift           []float32 // (cout)
	relu, pool      bool
}

// inferPlan is the trunk's weights rearranged for the NHWC forward pass. It
// is rebuilt from the trunk at each Extract call (a few hundred KB), so it
// always sees the current weights and BatchNorm statistics.
type inferPlan struct {
	convs       []inferConv
	flat, hid   int
	fc1, fc1b   []float32 // (flat, hid) with rows in NHWC order, (hid)
	fc2, fc2b   []float32 // (hid, hid), (hid)
	inSide, inC int
}

// bnEps is the epsilon of every BatchNorm layer of the trunk (build).
const bnEps = 1e-5

// foldConv turns an OIHW (cout, cin, 3, 3) weight into the (9*cin, cout)
// matrix of the NHWC product, each output column scaled by scale[co].
func foldConv(w []float32, cout, cin int, scale []float32) []float32 {
	out := make([]float32, 9*cin*cout)
	for co := range cout {
		s := float32(1)
		if scale != nil {
			s = scale[co]
		}
		for ci := range cin {
			for k := range 9 {
				out[(k*cin+ci)*cout+co] = w[(co*cin+ci)*9+k] * s
			}
		}
	}
	return out
}

// newInferPlan folds the trunk's current weights and running statistics.
func newInferPlan(t *cpuTrunk) *inferPlan {
	cfg := t.Cfg
	p := &inferPlan{inSide: cfg.Resolution, inC: 3, hid: cfg.Hidden, flat: cfg.flatSize()}
	side, in := cfg.Resolution, 3
	if cfg.Sobel {
		sob := sobelFilter().Data().([]float32)
		p.convs = append(p.convs, inferConv{cin: 3, cout: 2, side: side, w: foldConv(sob, 2, 3, nil), shift: make([]float32, 2)})
		in = 2
	}
	ch, pi, li := cfg.Width, 0, 0
	for range cfg.Depth {
		for c := range cfg.ConvsPerStage {
			w, gam, bet := t.Params[pi], t.Params[pi+1], t.Params[pi+2]
			mean, vr := t.BNMean[li].Data, t.BNVar[li].Data
			pi += 3
			li++
			scale := make([]float32, ch)
			shift := make([]float32, ch)
			for co := range ch {
				// eval BN: gamma*(x-mean)/sqrt(var+eps) + beta
				inv := float32(1 / math.Sqrt(float64(vr[co])+bnEps))
				scale[co] = gam.Data[co] * inv
				shift[co] = bet.Data[co] - mean[co]*scale[co]
			}
			p.convs = append(p.convs, inferConv{cin: in, cout: ch, side: side, w: foldConv(w.Data, ch, in, scale), shift: shift,
				relu: true, pool: c == cfg.ConvsPerStage-1})
			in = ch
		}
		side /= 2
		ch *= 2
	}
	// gorgonia flattens NCHW: flat index c*side*side + y*side + x; our
	// activations are NHWC, so permute fc1's rows once here instead.
	fc1 := t.Params[pi].Data
	ss := side * side
	p.fc1 = make([]float32, len(fc1))
	for c := range in {
		for s := range ss {
			copy(p.fc1[(s*in+c)*p.hid:(s*in+c+1)*p.hid], fc1[(c*ss+s)*p.hid:(c*ss+s+1)*p.hid])
		}
	}
	p.fc1b = t.Params[pi+1].Data
	p.fc2 = t.Params[pi+2].Data
	p.fc2b = t.Params[pi+3].Data
	return p
}

// inferChunkPixels is how many input pixels one worker pushes through the
// network at a time (4 images at 32 px, 1 at 64 px): enough rows for the
// matrix products of the deepest stage, few enough that a chunk's patch
// buffer stays near the L2 cache.
const inferChunkPixels = 4 * 32 * 32

// inferChunk is the images per chunk at side x side pixels.
func inferChunk(side int) int { return max(1, inferChunkPixels/(side*side)) }

// inferScratch is one worker's buffers, kept across Extract calls.
type inferScratch struct {
	a, b, col []float32
	// gemm is the worker's own single-threaded product: the workers
	// already use every core, and Sgemm's threads on top of them would
	// oversubscribe the cores.
	gemm cluster.Gemm
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// inferer runs plans; it owns the workers' scratch buffers and the
// flattened trunk outputs of a call.
type inferer struct {
	scratch   []*inferScratch
	flat, hid []float32
}

// inferBlock bounds the images whose trunk outputs extract holds at once
// (4 MB at 64 px), whatever the caller passes.
const inferBlock = 256

// extract writes the features of cnt NCHW images x into dst (cnt x hid),
// in blocks of at most inferBlock images: the convolutions chunk by chunk
// on every core, then the fc layers as two products over the whole block
// (per chunk, each product would pack fc1's weight, 2 MB at 64 px, for one
// image's row).
func (f *inferer) extract(p *inferPlan, x []float32, cnt int, dst []float32) {
	per := 3 * p.inSide * p.inSide
	for off := 0; off < cnt; off += inferBlock {
		n := min(inferBlock, cnt-off)
		f.block(p, x[off*per:(off+n)*per], n, dst[off*p.hid:(off+n)*p.hid])
	}
}

// block is extract for cnt <= inferBlock images.
func (f *inferer) block(p *inferPlan, x []float32, cnt int, dst []float32) {
	f.trunks(p, x, cnt, nil)
	// fc1 + ReLU, fc2 (features are before the last ReLU)
	f.hid = grow(f.hid, cnt*p.hid)
	cluster.Sgemm(false, false, cnt, p.hid, p.flat, 1, f.flat, p.flat, p.fc1, p.hid, 0, f.hid, p.hid)
	for i := range cnt {
		row := f.hid[i*p.hid : (i+1)*p.hid]
		for j, b := range p.fc1b {
			row[j] = max(row[j]+b, 0)
		}
	}
	cluster.Sgemm(false, false, cnt, p.hid, p.hid, 1, f.hid, p.hid, p.fc2, p.hid, 0, dst, p.hid)
	for i := range cnt {
		row := dst[i*p.hid : (i+1)*p.hid]
		for j, b := range p.fc2b {
			row[j] += b
		}
	}
}

// trunk runs images off..off+n-1 of x through the plan's convolutions and
// writes their flattened (NHWC) outputs into flat; when stages is not nil,
// also each stage's pooled output into stages[i] (n rows of stageDims()[i]).
func (p *inferPlan) trunk(s *inferScratch, x []float32, off, n int, flat []float32, stages [][]float32) {
	// NCHW input -> NHWC
	side, c := p.inSide, p.inC
	ss := side * side
	s.a = grow(s.a, n*ss*c)
	for i := range n {
		src := x[(off+i)*c*ss : (off+i+1)*c*ss]
		out := s.a[i*ss*c : (i+1)*ss*c]
		for ch := range c {
			plane := src[ch*ss : (ch+1)*ss]
			for px, v := range plane {
				out[px*c+ch] = v
			}
		}
	}
	stage := 0
	for li := range p.convs {
		l := &p.convs[li]
		ss, k := l.side*l.side, 3*l.cin
		s.b = grow(s.b, n*ss*l.cout)
		s.col = grow(s.col, (l.side+2)*l.side*k)
		for i := range n {
			// one product per kernel row over the row-patch matrix, as
			// convOp.conv3 in training
			kxcolNHWC(s.col, s.a[i*ss*l.cin:(i+1)*ss*l.cin], l.side, l.cin)
			y := s.b[i*ss*l.cout : (i+1)*ss*l.cout]
			for ky := range 3 {
				s.gemm.Sgemm(false, false, ss, l.cout, k, 1, s.col[ky*l.side*k:], k, l.w[ky*k*l.cout:(ky+1)*k*l.cout], l.cout, float32(min(ky, 1)), y, l.cout)
			}
		}
		if l.pool {
			half := l.side / 2
			s.a = grow(s.a, n*half*half*l.cout)
			poolShiftReLU(s.a, s.b, n, l.side, l.cout, l.shift)
			if stages != nil {
				copy(stages[stage], s.a[:n*half*half*l.cout])
			}
			stage++
		} else {
			shiftAct(s.b, l.cout, l.shift, l.relu)
			s.a, s.b = s.b, s.a
		}
	}
	copy(flat, s.a[:n*p.flat])
}

// stageDims is the width of each stage's pooled output (side x side x
// channels), in the order of the stages.
func (p *inferPlan) stageDims() []int {
	var dims []int
	for _, l := range p.convs {
		if l.pool {
			dims = append(dims, l.side/2*(l.side/2)*l.cout)
		}
	}
	return dims
}

// stages writes each stage's pooled output of cnt NCHW images x into
// dst[i] (cnt rows of stageDims()[i], NHWC order).
func (f *inferer) stages(p *inferPlan, x []float32, cnt int, dst [][]float32) {
	f.trunks(p, x, cnt, dst)
}

// trunks runs cnt NCHW images x through the plan's convolutions, chunk
// by chunk on every core, into f.flat (cnt rows of p.flat) and, when
// stages is not nil, each stage's output into stages[i] (cnt rows of
// stageDims()[i]). Each chunk writes its own images' rows: the result
// does not depend on which worker ran it.
func (f *inferer) trunks(p *inferPlan, x []float32, cnt int, stages [][]float32) {
	var dims []int
	if stages != nil {
		dims = p.stageDims()
	}
	per := inferChunk(p.inSide)
	chunks := (cnt + per - 1) / per
	threads := par.Threads()
	for len(f.scratch) < min(threads, chunks) {
		f.scratch = append(f.scratch, &inferScratch{})
	}
	f.flat = grow(f.flat, cnt*p.flat)
	par.Chunks(context.Background(), chunks, threads, func(w, c int) {
		off := c * per
		n := min(per, cnt-off)
		var rows [][]float32
		if stages != nil {
			rows = make([][]float32, len(dims))
			for i, d := range dims {
				rows[i] = stages[i][off*d : (off+n)*d]
			}
		}
		p.trunk(f.scratch[w], x, off, n, f.flat[off*p.flat:(off+n)*p.flat], rows)
	})
}

// shiftAct adds the per-channel shift to NHWC rows of c channels and, when
// relu, clamps at zero.
func shiftAct(v []float32, c int, shift []float32, relu bool) {
	for i := 0; i+c <= len(v); i += c {
		row := v[i : i+c : i+c]
		for j := range row {
			y := row[j] + shift[j]
			if relu {
				y = max(y, 0)
			}
			row[j] = y
		}
	}
}

// poolShiftReLU is relu(v + shift) followed by a 2x2, stride 2 max-pool, for
// n NHWC images of side x side x c; it pools first, which gives the same
// result because adding a per-channel constant and ReLU are monotonic.
func poolShiftReLU(dst, v []float32, n, side, c int, shift []float32) {
	half := side / 2
	for i := range n {
		img := v[i*side*side*c:]
		out := dst[i*half*half*c:]
		for py := range half {
			for px := range half {
				o := out[(py*half+px)*c : (py*half+px+1)*c]
				r0 := img[((2*py)*side+2*px)*c:]
				r1 := img[((2*py+1)*side+2*px)*c:]
				for j := range o {
					m := max(r0[j], r0[c+j], r1[j], r1[c+j])
					o[j] = max(m+shift[j], 0)
				}
			}
		}
	}
}

// checkExtract validates the sizes of an Extract call.
func checkExtract(cfg ModelConfig, x []float32, cnt int, dst []float32) error {
	per := 3 * cfg.Resolution * cfg.Resolution
	if cnt < 0 || len(x) < cnt*per || len(dst) < cnt*cfg.Hidden {
		return fmt.Errorf("model: extract %d images from %d values into %d", cnt, len(x), len(dst))
	}
	return nil
}
