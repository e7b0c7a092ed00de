/* kmeans.cl: the k-means pieces around the assignment (kmeans_assign,
   in gemm.cl, computes distances with the GEMM tile loop and fuses the
   argmin): the squared row norms, and the centroid update as per-cluster
   sums in row order. */
#include "compat.h"

/* row_sqnorm: out[i] = |x_i|^2 for the n rows of x (n x d).
   Launch: grid ceil(n/256), block 256. */
KERNEL row_sqnorm(GLOBAL const float* x, int n, int d, GLOBAL float* out) {
  int i = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (i >= n) return;
  float s = 0.0f;
  for (int t = 0; t < d; t++) {
    float v = x[i * d + t];
    s += v * v;
  }
  out[i] = s;
}

/* centroid_mean: cent[c, t] = mean over the rows order[start[c] ..
   start[c+1]) of x[row, t], summed in that order with Kahan compensation;
   an empty cluster keeps its centroid. Launch: grid ceil(k*d/256), block 256. */
KERNEL centroid_mean(GLOBAL const float* x, GLOBAL const int* order, GLOBAL const int* start,
                     GLOBAL float* cent, int k, int d) {
  int u = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
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
