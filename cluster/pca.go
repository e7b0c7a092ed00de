package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// PCAOptions configures FitPCA.
type PCAOptions struct {
	// SampleSize fits on a random sample of this many rows when n is
	// larger (the covariance of a few hundred thousand rows is as good as
	// that of millions); 0 fits on all rows.
	SampleSize int
	// Seed picks the sample.
	Seed uint64
}

// PCA is a fitted projection with whitening: Apply maps a row x to
// W^T (x - mean), W's columns being the top principal axes scaled by
// eigenvalue^-0.5, and then to unit length, as DeepCluster does before
// k-means.
type PCA struct {
	// InDim and OutDim are the input and output dimensions.
	InDim, OutDim int
	// Mean is the fitted mean, InDim values.
	Mean []float32
	// Eigenvalues are the variances along the kept axes, largest first.
	Eigenvalues []float64
	// W is InDim x OutDim, row-major: the whitening projection.
	W []float32
	// bias is Mean * W, subtracted after the product so Apply needs no
	// centred copy of its input.
	bias []float32
}

// pcaBlockRows is the number of rows handled per matrix product in FitPCA and
// Apply, bounding their temporary memory.
const pcaBlockRows = 4096

// FitPCA fits PCA with whitening to outDim dimensions on the n x d rows of x.
// The covariance is accumulated in float64 from float32 matrix products over
// blocks of centred rows; the eigen-decomposition is gonum's. Eigenvector
// signs are fixed (largest component positive) so that fits are
// reproducible.
func FitPCA(ctx context.Context, x []float32, n, d, outDim int, opt PCAOptions) (*PCA, error) {
	if err := checkMatrix(x, n, d); err != nil {
		return nil, fmt.Errorf("pca: %w", err)
	}
	if outDim < 1 || outDim > d {
		return nil, fmt.Errorf("pca: %w: output dimension %d outside [1, %d]", ErrBadInput, outDim, d)
	}
	if n < 2 {
		return nil, fmt.Errorf("pca: %w: %d row, need at least 2", ErrBadInput, n)
	}
	rows := make([]int, 0, n)
	if opt.SampleSize > 0 && n > opt.SampleSize {
		rng := rand.New(rand.NewPCG(opt.Seed, 0x706361))
		rows = rng.Perm(n)[:opt.SampleSize]
		slices.Sort(rows)
	} else {
		for i := 0; i < n; i++ {
			rows = append(rows, i)
		}
	}
	ns := len(rows)
	mean := make([]float64, d)
	for _, i := range rows {
		for j, v := range x[i*d : i*d+d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(ns)
	}
	mean32 := make([]float32, d)
	for j, v := range mean {
		mean32[j] = float32(v)
	}
	cov := make([]float64, d*d)
	block := make([]float32, min(pcaBlockRows, ns)*d)
	prod := make([]float32, d*d)
	for b0 := 0; b0 < ns; b0 += pcaBlockRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b1 := min(ns, b0+pcaBlockRows)
		for r, i := range rows[b0:b1] {
			dst := block[r*d : r*d+d]
			for j, v := range x[i*d : i*d+d] {
				dst[j] = v - mean32[j]
			}
		}
		Sgemm(true, false, d, d, b1-b0, 1, block, d, block, d, 0, prod, d)
		for i, v := range prod {
			cov[i] += float64(v)
		}
	}
	for i := range cov {
		cov[i] /= float64(ns - 1)
	}
	// Symmetrise: float32 products of the two halves may differ in the
	// last bit.
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			v := (cov[i*d+j] + cov[j*d+i]) / 2
			cov[i*d+j], cov[j*d+i] = v, v
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(d, cov), true) {
		return nil, fmt.Errorf("pca: eigen-decomposition of the %d x %d covariance did not converge", d, d)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	p := &PCA{InDim: d, OutDim: outDim, Mean: mean32, Eigenvalues: make([]float64, outDim), W: make([]float32, d*outDim), bias: make([]float32, outDim)}
	top := math.Max(vals[d-1], 0)
	floor := top*1e-10 + 1e-30
	for o := 0; o < outDim; o++ {
		col := d - 1 - o
		lam := vals[col]
		p.Eigenvalues[o] = lam
		scale := 1 / math.Sqrt(math.Max(lam, floor))
		big, sign := 0.0, 1.0
		for j := 0; j < d; j++ {
			if v := vecs.At(j, col); math.Abs(v) > big {
				big = math.Abs(v)
				sign = math.Copysign(1, v)
			}
		}
		for j := 0; j < d; j++ {
			p.W[j*outDim+o] = float32(sign * scale * vecs.At(j, col))
		}
	}
	p.bias = pcaBias(mean32, p.W, d, outDim)
	return p, nil
}

// Apply projects and whitens the n rows of x (n x InDim) and scales each
// result to unit length; rows that project to zero stay zero. The output is
// n x OutDim, computed in blocks of rows.
func (p *PCA) Apply(x []float32, n int) ([]float32, error) {
	out, err := p.project(x, n)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		row := out[i*p.OutDim : (i+1)*p.OutDim]
		nrm := math.Sqrt(float64(dot32(row, row)))
		if nrm == 0 {
			continue
		}
		inv := float32(1 / nrm)
		for j := range row {
			row[j] *= inv
		}
	}
	return out, nil
}

// project is Apply without the normalisation: whitened coordinates.
func (p *PCA) project(x []float32, n int) ([]float32, error) {
	if n < 0 || len(x) < n*p.InDim {
		return nil, fmt.Errorf("pca apply: %w: %d values for %d rows of %d", ErrBadInput, len(x), n, p.InDim)
	}
	d, o := p.InDim, p.OutDim
	out := make([]float32, n*o)
	for b0 := 0; b0 < n; b0 += pcaBlockRows {
		b1 := min(n, b0+pcaBlockRows)
		Sgemm(false, false, b1-b0, o, d, 1, x[b0*d:], d, p.W, o, 0, out[b0*o:], o)
	}
	for i := 0; i < n; i++ {
		row := out[i*o : (i+1)*o]
		for j := range row {
			row[j] -= p.bias[j]
		}
	}
	return out, nil
}

// pcaBias is mean * W, in float64 and rounded once.
func pcaBias(mean, w []float32, d, outDim int) []float32 {
	bias := make([]float32, outDim)
	for o := 0; o < outDim; o++ {
		var s float64
		for j := 0; j < d; j++ {
			s += float64(mean[j]) * float64(w[j*outDim+o])
		}
		bias[o] = float32(s)
	}
	return bias
}
