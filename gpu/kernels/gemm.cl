/* gemm.cl: everything built on one register-blocked tile loop: the
   SGEMM, the implicit-GEMM 3x3 convolutions (forward, input gradient,
   weight gradient) and the k-means assignment with its argmin fused.
   (One file: the OpenCL loader splices only compat.h, so the tile macros
   live here rather than in a header of their own.) */
#include "compat.h"

/* The tile loop. A block of TX x TY threads (256) computes a tile of
   C = A*B of TY*RM rows and TX*RN columns; thread (tx, ty) owns rows
   m0 + ty + TY*i and columns n0 + tx + TX*j. Three shapes are
   instantiated: 64x64 (TY = TX = 16, RM = RN = 4) for the SGEMM, the
   k-means and convolutions of more than 32 channels; 16x256 (TY = 4,
   TX = 64, RM = RN = 4) for convolutions of few channels along M, which
   would waste most of a 64-row tile; 16x64 (TY = TX = 16, RM = 1, RN = 4)
   for the weight gradient of few output channels, whose N (cin*9) is
   short. A and B are never named: the caller passes LOADA(m, k) and
   LOADB(k, n), expressions (macros) that read one element, so the same
   loop serves a plain matrix, an im2col matrix that exists only as index
   arithmetic, or a transpose. Each output sums k in increasing order, one
   thread alone: no atomics, so results are the same on every run. */

#define TB_K 16

/* GEMM_DECL declares the local memory of a tile at kernel scope (OpenCL
   1.2 allows __local arrays only there) and the thread's RM x RN
   accumulator acc, cleared. Rows are padded by one float so that loads
   along k do not all hit one bank. */
#define GEMM_DECL(TY, RM, TX, RN)              \
  LOCAL float As[TB_K][(TY) * (RM) + 1];       \
  LOCAL float Bs[TB_K][(TX) * (RN) + 1];       \
  float acc[RM][RN];                           \
  for (int i_ = 0; i_ < (RM); i_++)            \
    for (int j_ = 0; j_ < (RN); j_++) acc[i_][j_] = 0.0f;

/* GEMM_TID is the thread's index in its block of TX x TY. */
#define GEMM_TID(TX) (LOCAL_ID(1) * (TX) + LOCAL_ID(0))

/* GEMM_TILE adds into acc the product over k in [kb, ke) of rows
   [m0, m0 + TY*RM) of A (M rows) and columns [n0, n0 + TX*RN) of B (N
   columns). LOADA and LOADB are evaluated only inside the matrices. AK
   (BK) nonzero says A (B) is contiguous along k in memory, so that
   neighbouring threads load neighbouring k (coalesced); else they load
   neighbouring rows (columns), and with BK = 0 thread tid always loads
   column tid % (TX*RN) of the tile. ADV() runs after each step of TB_K,
   for loaders that keep per-thread state along k. Every thread of the
   block must reach it (it has barriers). */
#define GEMM_TILE(TY, RM, TX, RN, AK, BK, M, N, m0, n0, kb, ke, LOADA, LOADB, ADV) \
  {                                                                            \
    int tx_ = LOCAL_ID(0), ty_ = LOCAL_ID(1), tid_ = GEMM_TID(TX);             \
    for (int k0_ = (kb); k0_ < (ke); k0_ += TB_K) {                            \
      for (int l_ = 0; l_ < (TY) * (RM) / 16; l_++) {                          \
        int idx_ = tid_ + l_ * 256, kk_, mm_;                                  \
        if (AK) {                                                              \
          kk_ = idx_ & 15;                                                     \
          mm_ = idx_ >> 4;                                                     \
        } else {                                                               \
          kk_ = idx_ / ((TY) * (RM));                                          \
          mm_ = idx_ - kk_ * (TY) * (RM);                                      \
        }                                                                      \
        int k_ = k0_ + kk_, gm_ = (m0) + mm_;                                  \
        As[kk_][mm_] = (k_ < (ke) && gm_ < (M)) ? LOADA(gm_, k_) : 0.0f;       \
      }                                                                        \
      for (int l_ = 0; l_ < (TX) * (RN) / 16; l_++) {                          \
        int idx_ = tid_ + l_ * 256, kk_, nn_;                                  \
        if (BK) {                                                              \
          kk_ = idx_ & 15;                                                     \
          nn_ = idx_ >> 4;                                                     \
        } else {                                                               \
          kk_ = idx_ / ((TX) * (RN));                                          \
          nn_ = idx_ - kk_ * (TX) * (RN);                                      \
        }                                                                      \
        int k_ = k0_ + kk_, gn_ = (n0) + nn_;                                  \
        Bs[kk_][nn_] = (k_ < (ke) && gn_ < (N)) ? LOADB(k_, gn_) : 0.0f;       \
      }                                                                        \
      BARRIER();                                                               \
      for (int kk_ = 0; kk_ < TB_K; kk_++) {                                   \
        float a_[RM], b_[RN];                                                  \
        for (int i_ = 0; i_ < (RM); i_++) a_[i_] = As[kk_][ty_ + (TY) * i_];   \
        for (int j_ = 0; j_ < (RN); j_++) b_[j_] = Bs[kk_][tx_ + (TX) * j_];   \
        for (int i_ = 0; i_ < (RM); i_++)                                      \
          for (int j_ = 0; j_ < (RN); j_++) acc[i_][j_] += a_[i_] * b_[j_];    \
      }                                                                        \
      BARRIER();                                                               \
      ADV();                                                                   \
    }                                                                          \
  }

/* NO_ADV is the ADV of a tile loop that keeps no per-step state. */
#define NO_ADV()

/* GEMM_STORE calls STORE(m, n, v) for each of the thread's outputs inside
   M x N. */
#define GEMM_STORE(TY, RM, TX, RN, M, N, m0, n0, STORE) \
  for (int i_ = 0; i_ < (RM); i_++) {                   \
    int m_ = (m0) + LOCAL_ID(1) + (TY) * i_;            \
    if (m_ >= (M)) continue;                            \
    for (int j_ = 0; j_ < (RN); j_++) {                 \
      int n_ = (n0) + LOCAL_ID(0) + (TX) * j_;          \
      if (n_ >= (N)) continue;                          \
      STORE(m_, n_, acc[i_][j_]);                       \
    }                                                   \
  }

/* ---- SGEMM: C = alpha*op(A)*op(B) + beta*C, row-major, with element
   offsets (OpenCL has no pointers into a buffer's middle).
   Launch: grid (ceil(N/64), ceil(M/64)), block (16, 16). */

#define SG_A(m, k) (transA ? A[offA + (k) * lda + (m)] : A[offA + (m) * lda + (k)])
#define SG_B(k, n) (transB ? B[offB + (n) * ldb + (k)] : B[offB + (k) * ldb + (n)])
#define SG_STORE(m, n, v)                                               \
  {                                                                     \
    float v_ = alpha * (v);                                             \
    if (beta != 0.0f) v_ += beta * C[offC + (m) * ldc + (n)];           \
    C[offC + (m) * ldc + (n)] = v_;                                     \
  }

KERNEL sgemm(int M, int N, int K, float alpha, GLOBAL const float* A, int offA, int lda, int transA,
             GLOBAL const float* B, int offB, int ldb, int transB, float beta, GLOBAL float* C, int offC, int ldc) {
  GEMM_DECL(16, 4, 16, 4)
  int m0 = GROUP_ID(1) * 64, n0 = GROUP_ID(0) * 64;
  GEMM_TILE(16, 4, 16, 4, !transA, transB, M, N, m0, n0, 0, K, SG_A, SG_B, NO_ADV)
  GEMM_STORE(16, 4, 16, 4, M, N, m0, n0, SG_STORE)
}

/* sum_splits: dst[off+i] = sum over s of part[s*n + i], s in order: the
   deterministic end of a split-K product. Launch: grid ceil(n/256), block 256. */
KERNEL sum_splits(GLOBAL const float* part, int splits, int n, GLOBAL float* dst, int off) {
  int i = GLOBAL_ID(0);
  if (i >= n) return;
  float s = 0.0f;
  for (int z = 0; z < splits; z++) s += part[z * n + i];
  dst[off + i] = s;
}

/* ---- convolutions: 3x3, stride 1, pad 1, over NCHW activations with an
   OIHW (cout, cin, 3, 3) weight, as implicit GEMMs on the tile loop: the
   im2col matrix exists only as index arithmetic. Pixels of the batch are
   one GEMM dimension: n = b*S*S + y*S + x. Each kernel comes in two tile
   shapes: NAME (64x64, block (16, 16)) and NAME_m16 (for M <= 32: 16x256,
   block (64, 4), or 16x64, block (16, 16), for the weight gradient); grid
   (ceil(N/tile N), ceil(M/tile M), 1 or the weight gradient's slices).

   A pixel's (b, y, x) costs divisions by runtime values, so each thread
   finds its pixel once: with the pixels along N (loaded with BK = 0 and
   RN = 4) a thread always loads column nn = tid % 64 of the tile; with the
   pixels along K (the weight gradient, AK = BK = 1) it always loads row
   kk = tid % 16 of the step and moves its pixel on by TB_K after each
   step (ADV). Divisions by 9 and 3 are by constants, cheap. */

/* conv_tap: X[b, ci, y+dy, x+dx] or 0 outside the image, for tap k =
   ci*9 + ky*3 + kx with (dy, dx) = (ky-1, kx-1), or (1-ky, 1-kx) when flip
   (the input gradient's flipped kernel). */
DEVICE float conv_tap(GLOBAL const float* X, int C, int S, int k, int b, int y, int x, int flip) {
  int ci = k / 9, r = k - ci * 9, ky = r / 3, kx = r - ky * 3;
  int yy = flip ? y + 1 - ky : y + ky - 1, xx = flip ? x + 1 - kx : x + kx - 1;
  if (yy < 0 || yy >= S || xx < 0 || xx >= S) return 0.0f;
  return X[((b * C + ci) * S + yy) * S + xx];
}

/* CONV_PIXEL sets (pb, py, px) to the pixel of the column the thread
   loads, n0 + tid % (TX*RN) (256 is a multiple of TX*RN). */
#define CONV_PIXEL(TX, RN)                                        \
  int pn_ = n0 + GEMM_TID(TX) % ((TX) * (RN));                    \
  int pb = pn_ / SS, pq_ = pn_ - pb * SS, py = pq_ / S, px = pq_ - py * S;

/* forward: Y (B, Cout, S, S) = W (Cout, Cin*9) * im2col(X) (Cin*9, B*S*S). */
#define CF_A(m, k) W[(m) * (Cin * 9) + (k)]
#define CF_B(k, n) conv_tap(X, Cin, S, (k), pb, py, px, 0)
#define CF_STORE(m, n, v)                              \
  {                                                    \
    int b_ = (n) / SS;                                 \
    Y[(b_ * Cout + (m)) * SS + (n) - b_ * SS] = (v);   \
  }
#define CONV_FWD(TY, RM, TX, RN)                                            \
  GEMM_DECL(TY, RM, TX, RN)                                                 \
  int M = Cout, N = Bn * S * S, K = Cin * 9, SS = S * S;                    \
  int m0 = GROUP_ID(1) * (TY) * (RM), n0 = GROUP_ID(0) * (TX) * (RN);       \
  CONV_PIXEL(TX, RN)                                                        \
  GEMM_TILE(TY, RM, TX, RN, 1, 0, M, N, m0, n0, 0, K, CF_A, CF_B, NO_ADV)   \
  GEMM_STORE(TY, RM, TX, RN, M, N, m0, n0, CF_STORE)

KERNEL conv3_fwd(GLOBAL const float* X, GLOBAL const float* W, GLOBAL float* Y, int Bn, int Cin, int Cout, int S) {
  CONV_FWD(16, 4, 16, 4)
}
KERNEL conv3_fwd_m16(GLOBAL const float* X, GLOBAL const float* W, GLOBAL float* Y, int Bn, int Cin, int Cout,
                     int S) {
  CONV_FWD(4, 4, 64, 4)
}

/* input gradient: dX (B, Cin, S, S) = W' (Cin, Cout*9) * patches of dY
   flipped: dX[ci, y, x] = sum W[co, ci, ky, kx] dY[co, y+1-ky, x+1-kx]. */
#define CD_A(m, k) W[((k) / 9 * Cin + (m)) * 9 + (k) % 9]
#define CD_B(k, n) conv_tap(dY, Cout, S, (k), pb, py, px, 1)
#define CD_STORE(m, n, v)                              \
  {                                                    \
    int b_ = (n) / SS;                                 \
    dX[(b_ * Cin + (m)) * SS + (n) - b_ * SS] = (v);   \
  }
#define CONV_DX(TY, RM, TX, RN)                                             \
  GEMM_DECL(TY, RM, TX, RN)                                                 \
  int M = Cin, N = Bn * S * S, K = Cout * 9, SS = S * S;                    \
  int m0 = GROUP_ID(1) * (TY) * (RM), n0 = GROUP_ID(0) * (TX) * (RN);       \
  CONV_PIXEL(TX, RN)                                                        \
  GEMM_TILE(TY, RM, TX, RN, 1, 0, M, N, m0, n0, 0, K, CD_A, CD_B, NO_ADV)   \
  GEMM_STORE(TY, RM, TX, RN, M, N, m0, n0, CD_STORE)

KERNEL conv3_dx(GLOBAL const float* dY, GLOBAL const float* W, GLOBAL float* dX, int Bn, int Cin, int Cout, int S) {
  CONV_DX(16, 4, 16, 4)
}
KERNEL conv3_dx_m16(GLOBAL const float* dY, GLOBAL const float* W, GLOBAL float* dX, int Bn, int Cin, int Cout,
                    int S) {
  CONV_DX(4, 4, 64, 4)
}

/* weight gradient: dW (Cout, Cin*9) = dY (Cout, B*S*S) * im2col(X)^T, the
   pixel sum cut in GROUP_ID(2) slices of kchunk pixels: slice z writes its
   partial product to part[z*Cout*Cin*9 ...]; sum_splits adds the slices in
   order (deterministic, no atomics). The thread's pixel is kb + tid%16
   (its row of each step, with AK = BK = 1), moved on by TB_K after each
   step. */
#define CW_A(m, k) dY[(wb * Cout + (m)) * SS + wy * S + wx]
#define CW_B(k, n) conv_tap(X, Cin, S, (n), wb, wy, wx, 0)
#define CW_STORE(m, n, v) part[zoff + (m) * N + (n)] = (v);
#define CW_ADV()                 \
  {                              \
    wx += TB_K;                  \
    while (wx >= S) {            \
      wx -= S;                   \
      wy++;                      \
    }                            \
    while (wy >= S) {            \
      wy -= S;                   \
      wb++;                      \
    }                            \
  }
#define CONV_DW(TY, RM, TX, RN)                                            \
  GEMM_DECL(TY, RM, TX, RN)                                                \
  int SS = S * S, M = Cout, N = Cin * 9, P = Bn * SS;                      \
  int kb = GROUP_ID(2) * kchunk, ke = kb + kchunk < P ? kb + kchunk : P;   \
  int m0 = GROUP_ID(1) * (TY) * (RM), n0 = GROUP_ID(0) * (TX) * (RN);      \
  int zoff = GROUP_ID(2) * M * N;                                          \
  int wq_ = kb + GEMM_TID(TX) % 16, wb = wq_ / SS, wy = (wq_ - wb * SS) / S; \
  int wx = wq_ - wb * SS - wy * S;                                         \
  GEMM_TILE(TY, RM, TX, RN, 1, 1, M, N, m0, n0, kb, ke, CW_A, CW_B, CW_ADV) \
  GEMM_STORE(TY, RM, TX, RN, M, N, m0, n0, CW_STORE)

KERNEL conv3_dw(GLOBAL const float* X, GLOBAL const float* dY, GLOBAL float* part, int Bn, int Cin, int Cout, int S,
                int kchunk) {
  CONV_DW(16, 4, 16, 4)
}
KERNEL conv3_dw_m16(GLOBAL const float* X, GLOBAL const float* dY, GLOBAL float* part, int Bn, int Cin, int Cout,
                    int S, int kchunk) {
  CONV_DW(16, 1, 16, 4)
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
  GEMM_DECL(16, 4, 16, 4)
  LOCAL float rbest[64][16];
  LOCAL int ridx[64][16];
  float best[4];
  int bidx[4];
  int tx = LOCAL_ID(0), ty = LOCAL_ID(1);
  int m0 = row0 + GROUP_ID(1) * 64, M = row0 + n;
  for (int i = 0; i < 4; i++) {
    best[i] = 3.0e38f;
    bidx[i] = 0;
  }
  for (int n0 = 0; n0 < k; n0 += 64) {
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
    GEMM_TILE(16, 4, 16, 4, 1, 1, M, k, m0, n0, 0, d, KA_A, KA_B, NO_ADV)
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

