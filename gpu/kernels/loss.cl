/* loss.cl: the hierarchical loss's heads. V's logits come from the SGEMM;
   the sub-heads (each sample's own W_s) and the softmax cross-entropy are
   here. Launch 1-d kernels with block 256, grid ceil(n/256). */
#include "compat.h"

#define LGID (GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0))

/* softmax_xent: per row i of logits (B, C): loss[i] = logsumexp - logit of
   target[i]; dl = (softmax - onehot)*scale (scale = 1/B: the mean over the
   batch); hit[i] = 1 when the first maximum is the target. */
KERNEL softmax_xent(GLOBAL const float* logits, GLOBAL const int* target, GLOBAL float* dl, GLOBAL float* loss,
                    GLOBAL int* hit, int Bn, int C, float scale) {
  int i = LGID;
  if (i >= Bn) return;
  int row = i * C, t = target[i];
  float mx = logits[row];
  int arg = 0;
  for (int j = 1; j < C; j++) {
    float v = logits[row + j];
    if (v > mx) {
      mx = v;
      arg = j;
    }
  }
  float s = 0.0f;
  for (int j = 0; j < C; j++) s += EXPF(logits[row + j] - mx);
  float lse = mx + LOGF(s);
  loss[i] = lse - logits[row + t];
  hit[i] = arg == t ? 1 : 0;
  float inv = 1.0f / s;
  for (int j = 0; j < C; j++) {
    float p = EXPF(logits[row + j] - mx) * inv;
    dl[row + j] = (p - (j == t ? 1.0f : 0.0f)) * scale;
  }
}

/* subhead_fwd: out[i, k] = sum_j h[i, j] * W[s, j*K + k] + Wb[s, k] with
   s = super[i]; W stacked (S, H*K). n = B*K threads. */
KERNEL subhead_fwd(GLOBAL const float* h, GLOBAL const float* W, GLOBAL const float* Wb, GLOBAL const int* super,
                   GLOBAL float* out, int Bn, int H, int K) {
  int t = LGID;
  if (t >= Bn * K) return;
  int i = t / K, k = t - i * K, s = super[i];
  int wbase = s * H * K + k;
  float acc = 0.0f;
  for (int j = 0; j < H; j++) acc += h[i * H + j] * W[wbase + j * K];
  out[t] = acc + Wb[s * K + k];
}

/* subhead_dh: dh[i, j] (+)= sum_k W[s, j*K + k] * dl[i, k]; adds to dh
   when accumulate (V's part is already there). n = B*H threads. */
KERNEL subhead_dh(GLOBAL const float* dl, GLOBAL const float* W, GLOBAL const int* super, GLOBAL float* dh,
                  int Bn, int H, int K, int accumulate) {
  int t = LGID;
  if (t >= Bn * H) return;
  int i = t / H, j = t - i * H, s = super[i];
  int wbase = s * H * K + j * K;
  float acc = 0.0f;
  for (int k = 0; k < K; k++) acc += W[wbase + k] * dl[i * K + k];
  dh[t] = accumulate ? dh[t] + acc : acc;
}

/* subhead_dw: dW[s, j*K + k] = sum over the samples i of super-class s, in
   batch order, of h[i, j]*dl[i, k] (0 for a super-class absent from the
   batch); the last S*K threads do the bias, dWb[s, k] = sum dl[i, k]. The
   samples of s are order[start[s] .. start[s+1]) (the batch grouped by
   super-class, in batch order), so the work is S*H*K + B*H*K, not S*H*K*B.
   n = S*H*K + S*K threads. */
KERNEL subhead_dw(GLOBAL const float* h, GLOBAL const float* dl, GLOBAL const int* order, GLOBAL const int* start,
                  GLOBAL float* dW, GLOBAL float* dWb, int S, int H, int K) {
  int t = LGID;
  int nw = S * H * K;
  if (t >= nw + S * K) return;
  float acc = 0.0f;
  if (t < nw) {
    int s = t / (H * K), r = t - s * H * K, j = r / K, k = r - j * K;
    for (int q = start[s]; q < start[s + 1]; q++) {
      int i = order[q];
      acc += h[i * H + j] * dl[i * K + k];
    }
    dW[t] = acc;
  } else {
    int u = t - nw, s = u / K, k = u - s * K;
    for (int q = start[s]; q < start[s + 1]; q++) acc += dl[order[q] * K + k];
    dWb[u] = acc;
  }
}
