/* tile.h: the register-blocked tile loop shared by the GEMM, the
   implicit-GEMM convolutions and the fused k-means assignment.

   A block of 16x16 threads computes a 64x64 tile of C = A*B; each thread
   owns 4x4 outputs, rows ty+16i and columns tx+16j of the tile. A and B are
   never named: the caller passes LOADA(m, k) and LOADB(k, n), expressions
   (macros) that read one element, so the same loop serves a plain matrix,
   an im2col matrix that exists only as index arithmetic, or a transpose.
   Each output sums k in increasing order, one thread alone: no atomics,
   so results are the same on every run. */
#ifndef DC_TILE_H
#define DC_TILE_H

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
    int tx_ = THREAD_X, ty_ = THREAD_Y, tid_ = ty_ * 16 + tx_;               \
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

#endif
