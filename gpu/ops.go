// Package gpu is the GPU implementation of trainer.Backend and the GPU
// k-means, on top of the device layer (gpu/device): the kernels of
// gpu/kernels, launched in an order decided here, in plain Go, so that the
// same orchestration runs on CUDA and on OpenCL (PoCL in CI).
//
// Activations are NCHW, as the Backend interface receives them; weights
// keep the row-major layouts of trainer.State, so export and import are
// plain copies.
package gpu

import (
	"fmt"

	"github.com/deepercluster/deepercluster/gpu/device"
)

// The launch geometry the kernels are written for (see gpu/kernels).
const (
	tile    = 64  // tile.h: a block computes 64x64 outputs
	threads = 256 // block size of the 1-d kernels
)

var (
	tileBlock = device.Dim{16, 16, 1}
	lineBlock = device.Dim{threads, 1, 1}
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// ops launches the kernels with their documented geometry; each method is
// one kernel (or a fixed sequence of them) and wraps launch errors with the
// kernel's name.
type ops struct{ dev device.Device }

func (o ops) launch(name string, grid, block device.Dim, args ...any) error {
	if err := o.dev.Launch(name, grid, block, args...); err != nil {
		return fmt.Errorf("gpu: %s: %w", name, err)
	}
	return nil
}

// line launches a 1-d kernel over n threads.
func (o ops) line(name string, n int, args ...any) error {
	if n <= 0 {
		return nil
	}
	return o.launch(name, device.Dim{ceilDiv(n, threads), 1, 1}, lineBlock, args...)
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// gemm is C = alpha*op(A)*op(B) + beta*C on row-major matrices with element
// offsets; op transposes when trans is set.
func (o ops) gemm(transA, transB bool, m, n, k int, alpha float32, a device.Buffer, offA, lda int,
	b device.Buffer, offB, ldb int, beta float32, c device.Buffer, offC, ldc int) error {
	if m <= 0 || n <= 0 {
		return nil
	}
	return o.launch("sgemm", device.Dim{ceilDiv(n, tile), ceilDiv(m, tile), 1}, tileBlock,
		int32(m), int32(n), int32(k), alpha, a, int32(offA), int32(lda), b2i(transA),
		b, int32(offB), int32(ldb), b2i(transB), beta, c, int32(offC), int32(ldc))
}

// convShape is a convolution kernel's tile: the kernel's name, its rows
// and columns per block and its block.
type convShape struct {
	name       string
	rows, cols int
	block      device.Dim
}

// convTile picks a convolution kernel's tile shape for a product of m
// rows: NAME (64x64) or, for m <= 32, NAME_m16 (16 rows; 256 columns, or
// 64 for the weight gradient, whose columns are cin*9), which wastes less
// of a block on a layer with few channels.
func convTile(name string, m int) convShape {
	switch {
	case m > 32:
		return convShape{name, tile, tile, tileBlock}
	case name == "conv3_dw":
		return convShape{name + "_m16", 16, tile, tileBlock}
	default:
		return convShape{name + "_m16", 16, 256, device.Dim{64, 4, 1}}
	}
}

// grid is the launch grid of shape over m x n outputs in z slices.
func (c convShape) grid(m, n, z int) device.Dim {
	return device.Dim{ceilDiv(n, c.cols), ceilDiv(m, c.rows), z}
}

// convFwd is y (b, cout, s, s) = conv3x3(x (b, cin, s, s), w (cout, cin, 3, 3)).
func (o ops) convFwd(x, w, y device.Buffer, b, cin, cout, s int) error {
	c := convTile("conv3_fwd", cout)
	return o.launch(c.name, c.grid(cout, b*s*s, 1), c.block, x, w, y, int32(b), int32(cin), int32(cout), int32(s))
}

// convDX is the input gradient dx (b, cin, s, s) of convFwd from dy.
func (o ops) convDX(dy, w, dx device.Buffer, b, cin, cout, s int) error {
	c := convTile("conv3_dx", cin)
	return o.launch(c.name, c.grid(cin, b*s*s, 1), c.block, dy, w, dx, int32(b), int32(cin), int32(cout), int32(s))
}

// convSplits is how many slices the weight gradient's pixel sum is cut
// into: enough blocks for a GPU when the weight is small and the batch
// large, a function of the shapes only (so a step's result never depends
// on the device).
func convSplits(b, s int) int {
	return max(1, min(64, b*s*s/2048))
}

// convDWScratch is the partial-sum memory convDW needs, in floats.
func convDWScratch(b, cin, cout, s int) int {
	if sp := convSplits(b, s); sp > 1 {
		return sp * cout * cin * 9
	}
	return 0
}

// convDW is the weight gradient dw (cout, cin, 3, 3) of convFwd; part holds
// convDWScratch floats (nil when that is 0).
func (o ops) convDW(x, dy, dw, part device.Buffer, b, cin, cout, s int) error {
	p := b * s * s
	sp := convSplits(b, s)
	chunk := ceilDiv(ceilDiv(p, sp), 16) * 16
	sp = ceilDiv(p, chunk)
	dst := dw
	if sp > 1 {
		dst = part
	}
	c := convTile("conv3_dw", cout)
	if err := o.launch(c.name, c.grid(cout, cin*9, sp), c.block,
		x, dy, dst, int32(b), int32(cin), int32(cout), int32(s), int32(chunk)); err != nil {
		return err
	}
	if sp == 1 {
		return nil
	}
	n := cout * cin * 9
	return o.line("sum_splits", n, part, int32(sp), int32(n), dw, int32(0))
}

// bnParts is the number of partial sums per channel of a BatchNorm
// reduction over count values: a function of the shapes only.
func bnParts(count int) int { return max(1, min(64, count/4096)) }

// bnStats is the training statistics of one BatchNorm layer over x
// (b, c, ss): the batch mean and 1/std into mean and invstd, and the
// running statistics moved by momentum. part holds c*bnParts floats.
func (o ops) bnStats(x, mean, invstd, runMean, runVar, part device.Buffer, b, c, ss int, momentum, eps float32) error {
	count := b * ss
	p := bnParts(count)
	grid := device.Dim{p, c, 1}
	cb := device.Dim{ceilDiv(c, 64), 1, 1}
	small := device.Dim{64, 1, 1}
	if err := o.launch("bn_partial", grid, lineBlock, x, mean, part, int32(b), int32(c), int32(ss), int32(p), int32(0)); err != nil {
		return err
	}
	if err := o.launch("bn_mean", cb, small, part, int32(p), int32(c), int32(count), mean); err != nil {
		return err
	}
	if err := o.launch("bn_partial", grid, lineBlock, x, mean, part, int32(b), int32(c), int32(ss), int32(p), int32(1)); err != nil {
		return err
	}
	return o.launch("bn_var", cb, small, part, int32(p), int32(c), int32(count), mean, invstd, runMean, runVar, momentum, eps)
}

// bnReLU is y = relu(gamma*(x-mean)*invstd + beta) over x (b, c, ss).
func (o ops) bnReLU(x, y, mean, invstd, gamma, beta device.Buffer, b, c, ss int) error {
	n := b * c * ss
	return o.line("bn_relu_fwd", n, x, y, mean, invstd, gamma, beta, int32(c), int32(ss), int32(n))
}

// bnReLUEval is bnReLU with the running statistics (eval mode).
func (o ops) bnReLUEval(x, y, rmean, rvar, gamma, beta device.Buffer, eps float32, b, c, ss int) error {
	n := b * c * ss
	return o.line("bn_relu_eval", n, x, y, rmean, rvar, gamma, beta, eps, int32(c), int32(ss), int32(n))
}

// bnReLUBackward is the gradient of bnReLU (training mode) at input x and
// output y: dx from dy, and the scale and bias gradients. part holds
// 2*c*bnParts floats, coef 3*c.
func (o ops) bnReLUBackward(x, y, dy, dx, mean, invstd, gamma, dgamma, dbeta, part, coef device.Buffer, b, c, ss int) error {
	count := b * ss
	p := bnParts(count)
	if err := o.launch("bn_bwd_partial", device.Dim{p, c, 1}, lineBlock, x, y, dy, mean, invstd, part,
		int32(b), int32(c), int32(ss), int32(p)); err != nil {
		return err
	}
	if err := o.launch("bn_bwd_final", device.Dim{ceilDiv(c, 64), 1, 1}, device.Dim{64, 1, 1}, part, int32(p), int32(c),
		int32(count), gamma, invstd, dgamma, dbeta, coef); err != nil {
		return err
	}
	n := b * c * ss
	return o.line("bn_bwd_dx", n, x, y, dy, dx, mean, invstd, coef, int32(c), int32(ss), int32(n))
}

// poolFwd is the 2x2 max-pool of x (planes, s, s) into y, with the argmax
// of each window in arg.
func (o ops) poolFwd(x, y, arg device.Buffer, planes, s int) error {
	n := planes * (s / 2) * (s / 2)
	return o.line("pool2_fwd", n, x, y, arg, int32(s), int32(n))
}

// poolBwd is the gradient of poolFwd: dx (planes, s, s) from dy.
func (o ops) poolBwd(dy, arg, dx device.Buffer, planes, s int) error {
	n := planes * s * s
	return o.line("pool2_bwd", n, dy, arg, dx, int32(s), int32(n))
}

// biasAct adds bias (cols) to every row of y (rows, cols), then the ReLU
// if relu.
func (o ops) biasAct(y, bias device.Buffer, rows, cols int, relu bool) error {
	n := rows * cols
	return o.line("bias_act", n, y, bias, int32(cols), int32(n), b2i(relu))
}

// relu is y = max(x, 0) over n values.
func (o ops) relu(x, y device.Buffer, n int) error { return o.line("relu", n, x, y, int32(n)) }

// reluBwd is dx = dy where y > 0.
func (o ops) reluBwd(y, dy, dx device.Buffer, n int) error {
	return o.line("relu_bwd", n, y, dy, dx, int32(n))
}

// colSum is dst = the column sums of x (rows, cols), rows in order.
func (o ops) colSum(x device.Buffer, rows, cols int, dst device.Buffer) error {
	return o.line("col_sum", cols, x, int32(rows), int32(cols), dst, int32(0))
}

// sgd is one PyTorch SGD update of n weights, with the learning rate in
// lr[0] (a device buffer: a recorded step follows a schedule).
func (o ops) sgd(w, g, buf device.Buffer, n int, lr device.Buffer, mom, wd float32) error {
	return o.line("sgd", n, w, g, buf, int32(0), int32(n), lr, mom, wd)
}

// fill sets n floats of x to v.
func (o ops) fill(x device.Buffer, n int, v float32) error {
	return o.line("fill", n, x, int32(0), int32(n), v)
}

// softmaxXent is the softmax cross-entropy of logits (b, c) against
// target: per-sample loss and top-1 hit, and dl = (softmax - onehot)*scale.
func (o ops) softmaxXent(logits, target, dl, loss, hit device.Buffer, b, c int, scale float32) error {
	return o.line("softmax_xent", b, logits, target, dl, loss, hit, int32(b), int32(c), scale)
}

// subheadFwd is each sample's own sub-head: out (b, k) = h*W_s + b_s.
func (o ops) subheadFwd(h, w, wb, super, out device.Buffer, b, hid, k int) error {
	return o.line("subhead_fwd", b*k, h, w, wb, super, out, int32(b), int32(hid), int32(k))
}

// subheadDH is the sub-heads' input gradient, added to dh when accumulate.
func (o ops) subheadDH(dl, w, super, dh device.Buffer, b, hid, k int, accumulate bool) error {
	return o.line("subhead_dh", b*hid, dl, w, super, dh, int32(b), int32(hid), int32(k), b2i(accumulate))
}

// subheadDW is the sub-heads' weight and bias gradients; order and start
// group the batch by super-class (deepercluster.GroupByLabel of the
// targets, s groups).
func (o ops) subheadDW(h, dl, order, start, dw, dwb device.Buffer, s, hid, k int) error {
	return o.line("subhead_dw", s*hid*k+s*k, h, dl, order, start, dw, dwb, int32(s), int32(hid), int32(k))
}
