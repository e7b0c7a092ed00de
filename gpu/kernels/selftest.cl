/* selftest.cl: small kernels that prove the device layer and compat.h on
 * every device (PoCL in CI, CUDA on a GPU): 1-D and 2-D ids, int and float
 * arguments, buffer offsets, LOCAL memory with BARRIER, and EXPF/LOGF.
 * The tests in gpu/device check each one against Go. */
#include "compat.h"

/* x[off+i] = v for i < n. */
KERNEL selftest_fill(GLOBAL float *x, int off, int n, float v) {
	int i = GLOBAL_ID(0);
	if (i < n)
		x[off + i] = v;
}

/* y[yoff+i] += a * x[xoff+i] for i < n. */
KERNEL selftest_axpy(int n, float a, GLOBAL const float *x, int xoff,
                     GLOBAL float *y, int yoff) {
	int i = GLOBAL_ID(0);
	if (i < n)
		y[yoff + i] = FMAF(a, x[xoff + i], y[yoff + i]);
}

/* out[r*w+c] = r*1000 + c (int32) over a w x h grid: the 2-D ids. */
KERNEL selftest_iota2d(GLOBAL int *out, int w, int h) {
	int c = GLOBAL_ID(0);
	int r = GLOBAL_ID(1);
	if (c < w && r < h)
		out[r * w + c] = r * 1000 + c;
}

/* partial[g] = the sum of x[xoff+i] over the i this block g strides over
 * (block size a power of two, at most DC_SELFTEST_BLOCK): a deterministic
 * reduction, a fixed tree per block, no atomics. */
#ifndef DC_SELFTEST_BLOCK
#define DC_SELFTEST_BLOCK 256
#endif
KERNEL selftest_block_sum(GLOBAL const float *x, int xoff, int n,
                          GLOBAL float *partial) {
	LOCAL float s[DC_SELFTEST_BLOCK];
	int t = LOCAL_ID(0);
	int bs = GROUP_SIZE(0);
	int g = GROUP_ID(0);
	float acc = 0.0f;
	for (int i = g * bs + t; i < n; i += bs * NUM_GROUPS(0))
		acc += x[xoff + i];
	s[t] = acc;
	BARRIER();
	for (int k = bs / 2; k > 0; k >>= 1) {
		if (t < k)
			s[t] += s[t + k];
		BARRIER();
	}
	if (t == 0)
		partial[g] = s[0];
}

/* e[i] = EXPF(x[i]), l[i] = LOGF(|x[i]| + tiny), m[i] = FMAXF(x[i], 0),
 * q[i] = SQRTF(|x[i]|): the math helpers against Go's. */
KERNEL selftest_math(GLOBAL const float *x, int n, GLOBAL float *e,
                     GLOBAL float *l, GLOBAL float *m, GLOBAL float *q) {
	int i = GLOBAL_ID(0);
	if (i < n) {
		float v = x[i];
		e[i] = EXPF(v);
		l[i] = LOGF(FABSF(v) + 1e-30f);
		m[i] = FMAXF(v, 0.0f);
		q[i] = SQRTF(FABSF(v));
	}
}
