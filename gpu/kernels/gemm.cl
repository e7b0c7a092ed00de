/* gemm.cl: everything built on one register-blocked tile loop: the
   SGEMM, the implicit-GEMM 3x3 convolutions (forward, input gradient,
   weight gradient) and the k-means assignment with its argmin fused.
   (One file: the OpenCL loader splices only compat.h, so the tile macros
   live here rather than in a header of their own.) */
#include "compat.h"

/* The tile loop. A block of 16x16 threads computes a 64x64 tile of C = A*B; each thread
   owns 4x4 outputs, rows ty+16i and columns tx+16j of the tile. A and B are
   never named: the caller passes LOADA(m, k) and LOADB(k, n), expressions
   (macros) that read one element, so the same loop serves a plain matrix,
   an im2col matrix that exists only as index arithmetic, or a transpose.
   Each output sums k in increasing order, one thread alone: no atomics,
   so results are the same on every run. */

#define TB_M 64
#define TB_N 64
#define TB_K 16

/* GEMM_DECL declares the tile's local memory at kernel scope (OpenCL 1.2
   allows __local arrays only there). */
#define GEMM_DECL            \
  LOCAL float As[TB_K][TB_M]; \
  LOCAL float Bs[TB_K][TB_N];

/* GEMM_ZERO clears the 4x4 accumulator acc. */
#define GEMM_ZERO(acc)                \
  for (int i_ = 0; i_ < 4; i_++)      \
    for (int j_ = 0; j_ < 4; j_++) acc[i_][j_] = 0.0f;

/* GEMM_TILE adds into acc the product over k in [kb, ke) of rows
   [m0, m0+64) of A (M rows) and columns [n0, n0+64) of B (N columns).
   LOADA and LOADB are evaluated only inside the matrices. Every thread of
   the block must reach it (it has barriers). */
#define GEMM_TILE(M, N, m0, n0, kb, ke, LOADA, LOADB, acc)                   \
  {                                                                          \
    int tx_ = LOCAL_ID(0), ty_ = LOCAL_ID(1), tid_ = ty_ * 16 + tx_;               \
    for (int k0_ = (kb); k0_ < (ke); k0_ += TB_K) {                          \
      for (int l_ = 0; l_ < 4; l_++) {                                       \
        int idx_ = tid_ + l_ * 256;                                          \
        int kk_ = idx_ >> 6, mm_ = idx_ & 63;                                \
        int k_ = k0_ + kk_, gm_ = (m0) + mm_, gn_ = (n0) + mm_;              \
        As[kk_][mm_] = (k_ < (ke) && gm_ < (M)) ? LOADA(gm_, k_) : 0.0f;     \
        Bs[kk_][mm_] = (k_ < (ke) && gn_ < (N)) ? LOADB(k_, gn_) : 0.0f;     \
      }                                                                      \
      BARRIER();                                                             \
      for (int kk_ = 0; kk_ < TB_K; kk_++) {                                 \
        float a_[4], b_[4];                                                  \
        for (int i_ = 0; i_ < 4; i_++) {                                     \
          a_[i_] = As[kk_][ty_ + 16 * i_];                                   \
          b_[i_] = Bs[kk_][tx_ + 16 * i_];                                   \
        }                                                                    \
        for (int i_ = 0; i_ < 4; i_++)                                       \
          for (int j_ = 0; j_ < 4; j_++) acc[i_][j_] += a_[i_] * b_[j_];     \
      }                                                                      \
      BARRIER();                                                             \
    }                                                                        \
  }


/* ---- SGEMM: C = alpha*op(A)*op(B) + beta*C, row-major, with element
   offsets (OpenCL has no pointers into a buffer's middle).
   Launch: grid (ceil(N/64), ceil(M/64)), block (16, 16). */

#define SG_A(m, k) (transA ? A[offA + (k) * lda + (m)] : A[offA + (m) * lda + (k)])
#define SG_B(k, n) (transB ? B[offB + (n) * ldb + (k)] : B[offB + (k) * ldb + (n)])

KERNEL sgemm(int M, int N, int K, float alpha, GLOBAL const float* A, int offA, int lda, int transA,
                  GLOBAL const float* B, int offB, int ldb, int transB, float beta, GLOBAL float* C, int offC,
                  int ldc) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int m0 = GROUP_ID(1) * TB_M, n0 = GROUP_ID(0) * TB_N;
  GEMM_TILE(M, N, m0, n0, 0, K, SG_A, SG_B, acc)
  for (int i = 0; i < 4; i++) {
    int m = m0 + LOCAL_ID(1) + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + LOCAL_ID(0) + 16 * j;
      if (n >= N) continue;
      float v = alpha * acc[i][j];
      if (beta != 0.0f) v += beta * C[offC + m * ldc + n];
      C[offC + m * ldc + n] = v;
    }
  }
}

/* sum_splits: dst[off+i] = sum over s of part[s*n + i], s in order: the
   deterministic end of a split-K product. Launch: grid ceil(n/256), block 256. */
KERNEL sum_splits(GLOBAL const float* part, int splits, int n, GLOBAL float* dst, int off) {
  int i = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (i >= n) return;
  float s = 0.0f;
  for (int z = 0; z < splits; z++) s += part[z * n + i];
  dst[off + i] = s;
}

/* ---- convolutions. */
/* 3x3, stride 1, pad 1 convolution over NCHW activations with an
   OIHW (cout, cin, 3, 3) weight, as implicit GEMMs on the tile loop of
   tile.h: the im2col matrix exists only as index arithmetic. Pixels of
   the batch are one GEMM dimension: n = b*S*S + y*S + x.
   Launch every kernel with block (16, 16). */
/* forward: Y (B, Cout, S, S) = W (Cout, Cin*9) * im2col(X) (Cin*9, B*S*S) */
#define CF_A(m, k) W[(m) * (Cin * 9) + (k)]
#define CF_B(k, n) conv_patch(X, Cin, S, (k), (n))

DEVICE float conv_patch(GLOBAL const float* X, int C, int S, int k, int n) {
  int ci = k / 9, r = k - ci * 9, ky = r / 3, kx = r - ky * 3;
  int SS = S * S, b = n / SS, p = n - b * SS, y = p / S + ky - 1, x = p - (p / S) * S + kx - 1;
  if (y < 0 || y >= S || x < 0 || x >= S) return 0.0f;
  return X[((b * C + ci) * S + y) * S + x];
}

/* Launch: grid (ceil(B*S*S/64), ceil(Cout/64)). */
KERNEL conv3_fwd(GLOBAL const float* X, GLOBAL const float* W, GLOBAL float* Y, int Bn, int Cin, int Cout,
                      int S) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int M = Cout, N = Bn * S * S, K = Cin * 9, SS = S * S;
  int m0 = GROUP_ID(1) * TB_M, n0 = GROUP_ID(0) * TB_N;
  GEMM_TILE(M, N, m0, n0, 0, K, CF_A, CF_B, acc)
  for (int i = 0; i < 4; i++) {
    int m = m0 + LOCAL_ID(1) + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + LOCAL_ID(0) + 16 * j;
      if (n >= N) continue;
      int b = n / SS, p = n - b * SS;
      Y[(b * Cout + m) * SS + p] = acc[i][j];
    }
  }
}

/* input gradient: dX (B, Cin, S, S) = W' (Cin, Cout*9) * patches of dY
   flipped: dX[ci, y, x] = sum W[co, ci, ky, kx] dY[co, y+1-ky, x+1-kx]. */
#define CD_A(m, k) W[((k) / 9 * Cin + (m)) * 9 + (k) % 9]
#define CD_B(k, n) conv_patch_t(dY, Cout, S, (k), (n))

DEVICE float conv_patch_t(GLOBAL const float* D, int C, int S, int k, int n) {
  int co = k / 9, r = k - co * 9, ky = r / 3, kx = r - ky * 3;
  int SS = S * S, b = n / SS, p = n - b * SS, y = p / S + 1 - ky, x = p - (p / S) * S + 1 - kx;
  if (y < 0 || y >= S || x < 0 || x >= S) return 0.0f;
  return D[((b * C + co) * S + y) * S + x];
}

/* Launch: grid (ceil(B*S*S/64), ceil(Cin/64)). */
KERNEL conv3_dx(GLOBAL const float* dY, GLOBAL const float* W, GLOBAL float* dX, int Bn, int Cin, int Cout,
                     int S) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int M = Cin, N = Bn * S * S, K = Cout * 9, SS = S * S;
  int m0 = GROUP_ID(1) * TB_M, n0 = GROUP_ID(0) * TB_N;
  GEMM_TILE(M, N, m0, n0, 0, K, CD_A, CD_B, acc)
  for (int i = 0; i < 4; i++) {
    int m = m0 + LOCAL_ID(1) + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + LOCAL_ID(0) + 16 * j;
      if (n >= N) continue;
      int b = n / SS, p = n - b * SS;
      dX[(b * Cin + m) * SS + p] = acc[i][j];
    }
  }
}

/* weight gradient: dW (Cout, Cin*9) = dY (Cout, B*S*S) * im2col(X)^T, the
   pixel sum split in GROUP_ID(2) slices of kchunk pixels: slice z writes its
   partial product to part[z*Cout*Cin*9 ...]; sum_splits adds the slices in
   order (deterministic, no atomics).
   Launch: grid (ceil(Cin*9/64), ceil(Cout/64), splits). */
#define CW_A(m, k) dY[((k) / SS * Cout + (m)) * SS + (k) % SS]
#define CW_B(k, n) conv_patch(X, Cin, S, (n), (k))

KERNEL conv3_dw(GLOBAL const float* X, GLOBAL const float* dY, GLOBAL float* part, int Bn, int Cin, int Cout,
                     int S, int kchunk) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int SS = S * S, M = Cout, N = Cin * 9, P = Bn * SS;
  int kb = GROUP_ID(2) * kchunk, ke = kb + kchunk < P ? kb + kchunk : P;
  int m0 = GROUP_ID(1) * TB_M, n0 = GROUP_ID(0) * TB_N;
  GEMM_TILE(M, N, m0, n0, kb, ke, CW_A, CW_B, acc)
  int zoff = GROUP_ID(2) * M * N;
  for (int i = 0; i < 4; i++) {
    int m = m0 + LOCAL_ID(1) + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + LOCAL_ID(0) + 16 * j;
      if (n >= N) continue;
      part[zoff + m * N + n] = acc[i][j];
    }
  }
}

/* ---- k-means assignment. */

#define KA_A(m, t) X[(m) * d + (t)]
#define KA_B(t, j) Cn[(j) * d + (t)]

/* kmeans_assign: for rows [row0, row0 + n) of X (rows x d), label[row] =
   the nearest of the k centroids Cn (k x d) (the first on a tie) and
   dist[row] = its squared distance, |x|^2 + |c|^2 - 2 x.c, from the norms
   xn and cn. Each block takes 64 rows and walks all centroids 64 at a
   time. Launch: grid (1, ceil(n/64)), block (16, 16). */
KERNEL kmeans_assign(GLOBAL const float* X, GLOBAL const float* xn, int row0, int n, int d,
                          GLOBAL const float* Cn, GLOBAL const float* cn, int k, GLOBAL int* label,
                          GLOBAL float* dist) {
  GEMM_DECL
  LOCAL float rbest[TB_M][16];
  LOCAL int ridx[TB_M][16];
  float acc[4][4];
  float best[4];
  int bidx[4];
  int tx = LOCAL_ID(0), ty = LOCAL_ID(1);
  int m0 = row0 + GROUP_ID(1) * TB_M, M = row0 + n;
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

