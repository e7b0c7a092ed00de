/* elem.cl: the small elementwise and reduction kernels of the training
   step: 2x2 max-pool, ReLU, fc bias, column sums, SGD, fill.
   Launch 1-d kernels with block 256, grid ceil(n/256). */
#include "compat.h"

#define GID (GROUP_ID(0) * GROUP_SIZE(0) + LOCAL_ID(0))

/* pool2_fwd: y (B, C, S/2, S/2) is the 2x2 max of x (B, C, S, S), floor
   size; arg[o] is the plane index y*S+x of the first maximum in scan order
   (the gradient goes there, as the CPU backend's). total = B*C*(S/2)^2. */
KERNEL pool2_fwd(GLOBAL const float* x, GLOBAL float* y, GLOBAL int* arg, int S, int total) {
  int o = GID;
  if (o >= total) return;
  int H = S / 2, HH = H * H, plane = o / HH, q = o - plane * HH, oy = q / H, ox = q - oy * H;
  int base = plane * S * S;
  int best = (2 * oy) * S + 2 * ox;
  float bv = x[base + best];
  for (int d = 1; d < 4; d++) {
    int at = (2 * oy + d / 2) * S + 2 * ox + d % 2;
    float v = x[base + at];
    if (v > bv) {
      bv = v;
      best = at;
    }
  }
  y[o] = bv;
  arg[o] = best;
}

/* pool2_bwd: dx (B, C, S, S) from dy (B, C, S/2, S/2): each input pixel
   gets its window's gradient if it was the window's maximum, else 0 (rows
   and columns past the last full window too). total = B*C*S*S. */
KERNEL pool2_bwd(GLOBAL const float* dy, GLOBAL const int* arg, GLOBAL float* dx, int S, int total) {
  int i = GID;
  if (i >= total) return;
  int SS = S * S, plane = i / SS, p = i - plane * SS, iy = p / S, ix = p - iy * S;
  int H = S / 2, oy = iy / 2, ox = ix / 2;
  float v = 0.0f;
  if (oy < H && ox < H) {
    int o = plane * H * H + oy * H + ox;
    if (arg[o] == p) v = dy[o];
  }
  dx[i] = v;
}

/* bias_act: y[r, j] += bias[j] over rows x cols, then the ReLU if relu. */
KERNEL bias_act(GLOBAL float* y, GLOBAL const float* bias, int cols, int total, int relu) {
  int i = GID;
  if (i >= total) return;
  float v = y[i] + bias[i % cols];
  if (relu && !(v > 0.0f)) v = 0.0f;
  y[i] = v;
}

/* relu: y = max(x, 0). */
KERNEL relu(GLOBAL const float* x, GLOBAL float* y, int n) {
  int i = GID;
  if (i >= n) return;
  float v = x[i];
  y[i] = v > 0.0f ? v : 0.0f;
}

/* relu_bwd: dx = dy where y > 0, else 0 (y is the ReLU's input or output). */
KERNEL relu_bwd(GLOBAL const float* y, GLOBAL const float* dy, GLOBAL float* dx, int n) {
  int i = GID;
  if (i >= n) return;
  dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* col_sum: dst[off + j] = sum over rows r, in order, of x[r*cols + j]. */
KERNEL col_sum(GLOBAL const float* x, int rows, int cols, GLOBAL float* dst, int off) {
  int j = GID;
  if (j >= cols) return;
  float s = 0.0f;
  for (int r = 0; r < rows; r++) s += x[r * cols + j];
  dst[off + j] = s;
}

/* sgd: PyTorch's SGD with momentum and weight decay over n values from
   element off: g += wd*w; buf = mom*buf + g; w -= lr*buf. The learning
   rate is read from lr[0], a buffer, so that a recorded step (a CUDA
   graph) follows a schedule without being recorded again. */
KERNEL sgd(GLOBAL float* w, GLOBAL const float* g, GLOBAL float* buf, int off, int n, GLOBAL const float* lrbuf,
           float mom, float wd) {
  int i = GID;
  if (i >= n) return;
  float lr = lrbuf[0];
  i += off;
  float gi = g[i] + wd * w[i];
  float b = mom * buf[i] + gi;
  buf[i] = b;
  w[i] -= lr * b;
}

/* fill: x[off .. off+n) = v. */
KERNEL fill(GLOBAL float* x, int off, int n, float v) {
  int i = GID;
  if (i >= n) return;
  x[off + i] = v;
}
