/* conv.c: 3x3, stride 1, pad 1 convolution over NCHW activations with an
   OIHW (cout, cin, 3, 3) weight, as implicit GEMMs on the tile loop of
   tile.h: the im2col matrix exists only as index arithmetic. Pixels of
   the batch are one GEMM dimension: n = b*S*S + y*S + x.
   Launch every kernel with block (16, 16). */
#include "compat.h"
#include "tile.h"

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
KERNEL void conv3_fwd(GLOBAL const float* X, GLOBAL const float* W, GLOBAL float* Y, int Bn, int Cin, int Cout,
                      int S) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int M = Cout, N = Bn * S * S, K = Cin * 9, SS = S * S;
  int m0 = BLOCK_Y * TB_M, n0 = BLOCK_X * TB_N;
  GEMM_TILE(M, N, m0, n0, 0, K, CF_A, CF_B, acc)
  for (int i = 0; i < 4; i++) {
    int m = m0 + THREAD_Y + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + THREAD_X + 16 * j;
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
KERNEL void conv3_dx(GLOBAL const float* dY, GLOBAL const float* W, GLOBAL float* dX, int Bn, int Cin, int Cout,
                     int S) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int M = Cin, N = Bn * S * S, K = Cout * 9, SS = S * S;
  int m0 = BLOCK_Y * TB_M, n0 = BLOCK_X * TB_N;
  GEMM_TILE(M, N, m0, n0, 0, K, CD_A, CD_B, acc)
  for (int i = 0; i < 4; i++) {
    int m = m0 + THREAD_Y + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + THREAD_X + 16 * j;
      if (n >= N) continue;
      int b = n / SS, p = n - b * SS;
      dX[(b * Cin + m) * SS + p] = acc[i][j];
    }
  }
}

/* weight gradient: dW (Cout, Cin*9) = dY (Cout, B*S*S) * im2col(X)^T, the
   pixel sum split in BLOCK_Z slices of kchunk pixels: slice z writes its
   partial product to part[z*Cout*Cin*9 ...]; sum_splits adds the slices in
   order (deterministic, no atomics).
   Launch: grid (ceil(Cin*9/64), ceil(Cout/64), splits). */
#define CW_A(m, k) dY[((k) / SS * Cout + (m)) * SS + (k) % SS]
#define CW_B(k, n) conv_patch(X, Cin, S, (n), (k))

KERNEL void conv3_dw(GLOBAL const float* X, GLOBAL const float* dY, GLOBAL float* part, int Bn, int Cin, int Cout,
                     int S, int kchunk) {
  GEMM_DECL
  float acc[4][4];
  GEMM_ZERO(acc)
  int SS = S * S, M = Cout, N = Cin * 9, P = Bn * SS;
  int kb = BLOCK_Z * kchunk, ke = kb + kchunk < P ? kb + kchunk : P;
  int m0 = BLOCK_Y * TB_M, n0 = BLOCK_X * TB_N;
  GEMM_TILE(M, N, m0, n0, kb, ke, CW_A, CW_B, acc)
  int zoff = BLOCK_Z * M * N;
  for (int i = 0; i < 4; i++) {
    int m = m0 + THREAD_Y + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + THREAD_X + 16 * j;
      if (n >= N) continue;
      part[zoff + m * N + n] = acc[i][j];
    }
  }
}
