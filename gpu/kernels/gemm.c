/* gemm.c: the tiled SGEMM, C = alpha*op(A)*op(B) + beta*C, row-major, with
   element offsets (OpenCL has no pointers into a buffer's middle).
   Launch: grid (ceil(N/64), ceil(M/64)), block (16, 16). */
#include "compat.h"
#include "tile.h"

#define SG_A(m, k) (transA ? A[offA + (k) * lda + (m)] : A[offA + (m) * lda + (k)])
#define SG_B(k, n) (transB ? B[offB + (n) * ldb + (k)] : B[offB + (k) * ldb + (n)])

KERNEL void sgemm(int M, int N, int K, float alpha, GLOBAL const float* A, int offA, int lda, int transA,
                  GLOBAL const float* B, int offB, int ldb, int transB, float beta, GLOBAL float* C, int offC,
                  int ldc) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int m0 = BLOCK_Y * TB_M, n0 = BLOCK_X * TB_N;
  GEMM_TILE(M, N, m0, n0, 0, K, SG_A, SG_B, acc)
  for (int i = 0; i < 4; i++) {
    int m = m0 + THREAD_Y + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + THREAD_X + 16 * j;
      if (n >= N) continue;
      float v = alpha * acc[i][j];
      if (beta != 0.0f) v += beta * C[offC + m * ldc + n];
      C[offC + m * ldc + n] = v;
    }
  }
}

/* sum_splits: dst[off+i] = sum over s of part[s*n + i], s in order: the
   deterministic end of a split-K product. Launch: grid ceil(n/256), block 256. */
KERNEL void sum_splits(GLOBAL const float* part, int splits, int n, GLOBAL float* dst, int off) {
  int i = BLOCK_X * BLOCK_DIM_X + THREAD_X;
  if (i >= n) return;
  float s = 0.0f;
  for (int z = 0; z < splits; z++) s += part[z * n + i];
  dst[off + i] = s;
}
