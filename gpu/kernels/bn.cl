/* bn.cl: BatchNorm over NCHW activations (per channel c, statistics over
   the batch and the pixels), fused with the ReLU that always follows it in
   the trunk. Training statistics are taken in two passes (the mean, then
   the squared deviations from it, as the CPU backend) by per-block partial
   sums reduced in a fixed order: no float atomics, the same result on
   every run. */
#include "compat.h"

#define BN_THREADS 256

/* bn_partial: part[c*P + p] = sum over the p-th of P slices of channel c's
   Bn*SS values of x (mode 0) or of (x - mean[c])^2 (mode 1).
   Launch: grid (P, C), block 256. */
KERNEL bn_partial(GLOBAL const float* x, GLOBAL const float* mean, GLOBAL float* part, int Bn, int C, int SS,
                  int P, int mode) {
  LOCAL float red[BN_THREADS];
  int p = GROUP_ID(0), c = GROUP_ID(1), t = LOCAL_ID(0);
  int count = Bn * SS, chunk = (count + P - 1) / P;
  int lo = p * chunk, hi = lo + chunk < count ? lo + chunk : count;
  float m = mode ? mean[c] : 0.0f;
  float s = 0.0f;
  for (int i = lo + t; i < hi; i += BN_THREADS) {
    int b = i / SS;
    float v = x[(b * C + c) * SS + (i - b * SS)];
    if (mode) {
      v -= m;
      v *= v;
    }
    s += v;
  }
  red[t] = s;
  BARRIER();
  for (int w = BN_THREADS / 2; w > 0; w >>= 1) {
    if (t < w) red[t] += red[t + w];
    BARRIER();
  }
  if (t == 0) part[c * P + p] = red[0];
}

/* bn_mean: mean[c] = (sum of part[c*P ...]) / count. Launch: grid ceil(C/64), block 64. */
KERNEL bn_mean(GLOBAL const float* part, int P, int C, int count, GLOBAL float* mean) {
  int c = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (c >= C) return;
  float s = 0.0f;
  for (int p = 0; p < P; p++) s += part[c * P + p];
  mean[c] = s / (float)count;
}

/* bn_var: from the squared deviations, invstd[c] = 1/sqrt(var + eps) with
   the biased variance, and the running statistics move by momentum
   (PyTorch's rule, the running variance unbiased).
   Launch: grid ceil(C/64), block 64. */
KERNEL bn_var(GLOBAL const float* part, int P, int C, int count, GLOBAL const float* mean,
              GLOBAL float* invstd, GLOBAL float* runMean, GLOBAL float* runVar, float momentum, float eps) {
  int c = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (c >= C) return;
  float s = 0.0f;
  for (int p = 0; p < P; p++) s += part[c * P + p];
  float n = (float)count;
  invstd[c] = 1.0f / SQRTF(s / n + eps);
  runMean[c] = momentum * mean[c] + (1.0f - momentum) * runMean[c];
  runVar[c] = momentum * (s / (n - 1.0f)) + (1.0f - momentum) * runVar[c];
}

/* bn_relu_fwd: y = max(gamma*((x-mean)*invstd) + beta, 0).
   Launch: grid ceil(total/256), block 256. */
KERNEL bn_relu_fwd(GLOBAL const float* x, GLOBAL float* y, GLOBAL const float* mean, GLOBAL const float* invstd,
                   GLOBAL const float* gamma, GLOBAL const float* beta, int C, int SS, int total) {
  int i = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (i >= total) return;
  int c = (i / SS) % C;
  float v = gamma[c] * ((x[i] - mean[c]) * invstd[c]) + beta[c];
  y[i] = v > 0.0f ? v : 0.0f;
}

/* bn_relu_eval: eval mode, y = max(gamma*(x-rm)/sqrt(rv+eps) + beta, 0).
   Launch: grid ceil(total/256), block 256. */
KERNEL bn_relu_eval(GLOBAL const float* x, GLOBAL float* y, GLOBAL const float* rmean, GLOBAL const float* rvar,
                    GLOBAL const float* gamma, GLOBAL const float* beta, float eps, int C, int SS, int total) {
  int i = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (i >= total) return;
  int c = (i / SS) % C;
  float sc = gamma[c] / SQRTF(rvar[c] + eps);
  float v = (x[i] - rmean[c]) * sc + beta[c];
  y[i] = v > 0.0f ? v : 0.0f;
}

/* bn_bwd_partial: with dz = dy where y > 0 (the ReLU) and h = (x-mean)*invstd,
   part[(c*P + p)*2] = sum dz*h and part[(c*P + p)*2 + 1] = sum dz over the
   p-th slice of channel c. Launch: grid (P, C), block 256. */
KERNEL bn_bwd_partial(GLOBAL const float* x, GLOBAL const float* y, GLOBAL const float* dy,
                      GLOBAL const float* mean, GLOBAL const float* invstd, GLOBAL float* part, int Bn, int C,
                      int SS, int P) {
  LOCAL float rg[BN_THREADS];
  LOCAL float rb[BN_THREADS];
  int p = GROUP_ID(0), c = GROUP_ID(1), t = LOCAL_ID(0);
  int count = Bn * SS, chunk = (count + P - 1) / P;
  int lo = p * chunk, hi = lo + chunk < count ? lo + chunk : count;
  float m = mean[c], is = invstd[c];
  float sg = 0.0f, sb = 0.0f;
  for (int i = lo + t; i < hi; i += BN_THREADS) {
    int b = i / SS;
    int j = (b * C + c) * SS + (i - b * SS);
    float dz = y[j] > 0.0f ? dy[j] : 0.0f;
    sg += dz * ((x[j] - m) * is);
    sb += dz;
  }
  rg[t] = sg;
  rb[t] = sb;
  BARRIER();
  for (int w = BN_THREADS / 2; w > 0; w >>= 1) {
    if (t < w) {
      rg[t] += rg[t + w];
      rb[t] += rb[t + w];
    }
    BARRIER();
  }
  if (t == 0) {
    part[(c * P + p) * 2] = rg[0];
    part[(c * P + p) * 2 + 1] = rb[0];
  }
}

/* bn_bwd_final: dgamma, dbeta, and coef[c*3 ...] = (gamma*invstd,
   mean of dz, mean of dz*h) for bn_bwd_dx. Launch: grid ceil(C/64), block 64. */
KERNEL bn_bwd_final(GLOBAL const float* part, int P, int C, int count, GLOBAL const float* gamma,
                    GLOBAL const float* invstd, GLOBAL float* dgamma, GLOBAL float* dbeta, GLOBAL float* coef) {
  int c = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (c >= C) return;
  float sg = 0.0f, sb = 0.0f;
  for (int p = 0; p < P; p++) {
    sg += part[(c * P + p) * 2];
    sb += part[(c * P + p) * 2 + 1];
  }
  dgamma[c] = sg;
  dbeta[c] = sb;
  coef[c * 3] = gamma[c] * invstd[c];
  coef[c * 3 + 1] = sb / (float)count;
  coef[c * 3 + 2] = sg / (float)count;
}

/* bn_bwd_dx: dx = k*((dz - mean dz) - h*mean(dz*h)).
   Launch: grid ceil(total/256), block 256. */
KERNEL bn_bwd_dx(GLOBAL const float* x, GLOBAL const float* y, GLOBAL const float* dy, GLOBAL float* dx,
                 GLOBAL const float* mean, GLOBAL const float* invstd, GLOBAL const float* coef, int C, int SS,
                 int total) {
  int i = GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0);
  if (i >= total) return;
  int c = (i / SS) % C;
  float dz = y[i] > 0.0f ? dy[i] : 0.0f;
  float h = (x[i] - mean[c]) * invstd[c];
  dx[i] = coef[c * 3] * ((dz - coef[c * 3 + 1]) - h * coef[c * 3 + 2]);
}
