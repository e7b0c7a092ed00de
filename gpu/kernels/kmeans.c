/* kmeans.c: the k-means assignment (squared distances by the GEMM tile
   loop, the argmin fused into it: the n x k distance matrix is never
   written) and the centroid update (per-cluster sums in row order). */
#include "compat.h"
#include "tile.h"

/* row_sqnorm: out[i] = |x_i|^2 for the n rows of x (n x d).
   Launch: grid ceil(n/256), block 256. */
KERNEL void row_sqnorm(GLOBAL const float* x, int n, int d, GLOBAL float* out) {
  int i = BLOCK_X * BLOCK_DIM_X + THREAD_X;
  if (i >= n) return;
  float s = 0.0f;
  for (int t = 0; t < d; t++) {
    float v = x[i * d + t];
    s += v * v;
  }
  out[i] = s;
}

#define KA_A(m, t) X[(m) * d + (t)]
#define KA_B(t, j) Cn[(j) * d + (t)]

/* kmeans_assign: for rows [row0, row0 + n) of X (rows x d), label[row] =
   the nearest of the k centroids Cn (k x d) (the first on a tie) and
   dist[row] = its squared distance, |x|^2 + |c|^2 - 2 x.c, from the norms
   xn and cn. Each block takes 64 rows and walks all centroids 64 at a
   time. Launch: grid (1, ceil(n/64)), block (16, 16). */
KERNEL void kmeans_assign(GLOBAL const float* X, GLOBAL const float* xn, int row0, int n, int d,
                          GLOBAL const float* Cn, GLOBAL const float* cn, int k, GLOBAL int* label,
                          GLOBAL float* dist) {
  GEMM_DECL
  LOCAL float rbest[TB_M][16];
  LOCAL int ridx[TB_M][16];
  float acc[4][4];
  float best[4];
  int bidx[4];
  int tx = THREAD_X, ty = THREAD_Y;
  int m0 = row0 + BLOCK_Y * TB_M, M = row0 + n;
  for (int i = 0; i < 4; i++) {
    best[i] = 3.0e38f;
    bidx[i] = 0;
  }
  for (int n0 = 0; n0 < k; n0 += TB_N) {
    GEMM_ZERO(acc)
    GEMM_TILE(M, k, m0, n0, 0, d, KA_A, KA_B, acc)
    for (int j = 0; j < 4; j++) {
      int c = n0 + tx + 16 * j;
      if (c >= k) continue;
      float cc = cn[c];
      for (int i = 0; i < 4; i++) {
        float v = cc - 2.0f * acc[i][j];
        if (v < best[i]) {
          best[i] = v;
          bidx[i] = c;
        }
      }
    }
  }
  for (int i = 0; i < 4; i++) {
    rbest[ty + 16 * i][tx] = best[i];
    ridx[ty + 16 * i][tx] = bidx[i];
  }
  BARRIER();
  if (tx == 0) {
    for (int i = 0; i < 4; i++) {
      int r = ty + 16 * i, row = m0 + r;
      if (row >= M) continue;
      float b = rbest[r][0];
      int bi = ridx[r][0];
      for (int u = 1; u < 16; u++) {
        float v = rbest[r][u];
        int vi = ridx[r][u];
        if (v < b || (v == b && vi < bi)) {
          b = v;
          bi = vi;
        }
      }
      float dd = xn[row] + b;
      label[row] = bi;
      dist[row] = dd > 0.0f ? dd : 0.0f;
    }
  }
}

/* centroid_mean: cent[c, t] = mean over the rows order[start[c] ..
   start[c+1]) of x[row, t], summed in that order with Kahan compensation;
   an empty cluster keeps its centroid. Launch: grid ceil(k*d/256), block 256. */
KERNEL void centroid_mean(GLOBAL const float* x, GLOBAL const int* order, GLOBAL const int* start,
                          GLOBAL float* cent, int k, int d) {
  int u = BLOCK_X * BLOCK_DIM_X + THREAD_X;
  if (u >= k * d) return;
  int c = u / d, t = u - c * d;
  int lo = start[c], hi = start[c + 1];
  if (hi <= lo) return;
  float s = 0.0f, comp = 0.0f;
  for (int r = lo; r < hi; r++) {
    float y = x[order[r] * d + t] - comp;
    float nt = s + y;
    comp = (nt - s) - y;
    s = nt;
  }
  cent[u] = s / (float)(hi - lo);
}
