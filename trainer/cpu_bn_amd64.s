//go:build amd64

#include "textflag.h"

// AVX-512 kernels of the batch-norm layers (cpu_bn.go). Data is NHWC: rows
// of c float32 channels, c a multiple of 16; each kernel walks one vector
// of 16 channels down all rows, then the next (R8 is the byte offset of
// the vector, R9 the row stride in bytes, AX the row's byte offset).

// func bnSum512(x *float32, rows, c int, acc *float64)
// acc[j] += float64(x[r*c+j]) over the rows, in row order.
TEXT ·bnSum512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ c+16(FP), R9
	MOVQ acc+24(FP), DI
	SHLQ $2, R9
	XORQ R8, R8

sum_vec:
	VMOVUPD (DI), Z0
	VMOVUPD 64(DI), Z1
	XORQ    AX, AX
	MOVQ    rows+8(FP), BX
	TESTQ   BX, BX
	JZ      sum_store

sum_row:
	VCVTPS2PD (SI)(AX*1), Z2
	VADDPD    Z2, Z0, Z0
	VCVTPS2PD 32(SI)(AX*1), Z3
	VADDPD    Z3, Z1, Z1
	ADDQ      R9, AX
	DECQ      BX
	JNZ       sum_row

sum_store:
	VMOVUPD Z0, (DI)
	VMOVUPD Z1, 64(DI)
	ADDQ    $64, SI
	ADDQ    $128, DI
	ADDQ    $64, R8
	CMPQ    R8, R9
	JLT     sum_vec
	VZEROUPPER
	RET

// func bnSumSqDev512(x *float32, rows, c int, mean, acc *float64)
// acc[j] += (float64(x[r*c+j]) - mean[j])^2 over the rows, in row order.
TEXT ·bnSumSqDev512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ c+16(FP), R9
	MOVQ mean+24(FP), DX
	MOVQ acc+32(FP), DI
	SHLQ $2, R9
	XORQ R8, R8

sq_vec:
	VMOVUPD (DI), Z0
	VMOVUPD 64(DI), Z1
	VMOVUPD (DX), Z4
	VMOVUPD 64(DX), Z5
	XORQ    AX, AX
	MOVQ    rows+8(FP), BX
	TESTQ   BX, BX
	JZ      sq_store

sq_row:
	VCVTPS2PD   (SI)(AX*1), Z2
	VSUBPD      Z4, Z2, Z2
	VFMADD231PD Z2, Z2, Z0
	VCVTPS2PD   32(SI)(AX*1), Z3
	VSUBPD      Z5, Z3, Z3
	VFMADD231PD Z3, Z3, Z1
	ADDQ        R9, AX
	DECQ        BX
	JNZ         sq_row

sq_store:
	VMOVUPD Z0, (DI)
	VMOVUPD Z1, 64(DI)
	ADDQ    $64, SI
	ADDQ    $128, DI
	ADDQ    $128, DX
	ADDQ    $64, R8
	CMPQ    R8, R9
	JLT     sq_vec
	VZEROUPPER
	RET

// func bnFwd512(x, y *float32, rows, c int, mean, inv, gamma, beta *float32)
// y = max(gamma*((x-mean)*inv) + beta, 0); a NaN stays NaN.
TEXT ·bnFwd512(SB), NOSPLIT, $0-64
	MOVQ    x+0(FP), SI
	MOVQ    y+8(FP), DI
	MOVQ    c+24(FP), R9
	SHLQ    $2, R9
	XORQ    R8, R8
	VPXORD  Z9, Z9, Z9

fwd_vec:
	MOVQ    mean+32(FP), R10
	VMOVUPS (R10)(R8*1), Z4
	MOVQ    inv+40(FP), R10
	VMOVUPS (R10)(R8*1), Z5
	MOVQ    gamma+48(FP), R10
	VMOVUPS (R10)(R8*1), Z6
	MOVQ    beta+56(FP), R10
	VMOVUPS (R10)(R8*1), Z7
	XORQ    AX, AX
	MOVQ    rows+16(FP), BX
	TESTQ   BX, BX
	JZ      fwd_next

fwd_row:
	VMOVUPS (SI)(AX*1), Z0
	VSUBPS  Z4, Z0, Z0
	VMULPS  Z5, Z0, Z0
	VMULPS  Z6, Z0, Z0
	VADDPS  Z7, Z0, Z0
	VMAXPS  Z0, Z9, Z0
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ    R9, AX
	DECQ    BX
	JNZ     fwd_row

fwd_next:
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	CMPQ R8, R9
	JLT  fwd_vec
	VZEROUPPER
	RET

// func bnBwdSums512(x, dy *float32, rows, c int, mean, inv, gamma, beta *float32, acc *float64)
// With h = (x-mean)*inv, z = gamma*h + beta (the forward pass's
// pre-activation, bit for bit) and dz = dy where z > 0, else 0:
// acc[j] += float64(dz*h), acc[c+j] += float64(dz), in row order. The ReLU
// mask comes from z rather than from the layer's output, which saves
// reading one more activation-sized tensor.
TEXT ·bnBwdSums512(SB), NOSPLIT, $0-72
	MOVQ   x+0(FP), SI
	MOVQ   dy+8(FP), DX
	MOVQ   c+24(FP), R9
	MOVQ   acc+64(FP), R12
	MOVQ   R9, R13
	SHLQ   $3, R13
	SHLQ   $2, R9
	XORQ   R8, R8
	VPXORD Z9, Z9, Z9

bs_vec:
	MOVQ    mean+32(FP), R10
	VMOVUPS (R10)(R8*1), Z4
	MOVQ    inv+40(FP), R10
	VMOVUPS (R10)(R8*1), Z5
	MOVQ    gamma+48(FP), R10
	VMOVUPS (R10)(R8*1), Z14
	MOVQ    beta+56(FP), R10
	VMOVUPS (R10)(R8*1), Z15
	VMOVUPD (R12), Z0
	VMOVUPD 64(R12), Z1
	VMOVUPD (R12)(R13*1), Z2
	VMOVUPD 64(R12)(R13*1), Z3
	XORQ    AX, AX
	MOVQ    rows+16(FP), BX
	TESTQ   BX, BX
	JZ      bs_store

bs_row:
	VMOVUPS       (SI)(AX*1), Z6
	VSUBPS        Z4, Z6, Z6
	VMULPS        Z5, Z6, Z6
	VMULPS        Z14, Z6, Z7
	VADDPS        Z15, Z7, Z7
	VCMPPS        $14, Z9, Z7, K1
	VMOVUPS.Z     (DX)(AX*1), K1, Z8
	VMULPS        Z6, Z8, Z6
	VCVTPS2PD     Y6, Z10
	VADDPD        Z10, Z0, Z0
	VEXTRACTF64X4 $1, Z6, Y11
	VCVTPS2PD     Y11, Z11
	VADDPD        Z11, Z1, Z1
	VCVTPS2PD     Y8, Z12
	VADDPD        Z12, Z2, Z2
	VEXTRACTF64X4 $1, Z8, Y13
	VCVTPS2PD     Y13, Z13
	VADDPD        Z13, Z3, Z3
	ADDQ          R9, AX
	DECQ          BX
	JNZ           bs_row

bs_store:
	VMOVUPD Z0, (R12)
	VMOVUPD Z1, 64(R12)
	VMOVUPD Z2, (R12)(R13*1)
	VMOVUPD Z3, 64(R12)(R13*1)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $128, R12
	ADDQ    $64, R8
	CMPQ    R8, R9
	JLT     bs_vec
	VZEROUPPER
	RET

// func bnBwdDX512(x, dy, dx *float32, rows, c int, mean, inv, gamma, beta, k, mb, mg *float32)
// With h, z and dz as above: dx = k*((dz-mb) - h*mg).
TEXT ·bnBwdDX512(SB), NOSPLIT, $0-96
	MOVQ   x+0(FP), SI
	MOVQ   dy+8(FP), DX
	MOVQ   dx+16(FP), CX
	MOVQ   c+32(FP), R9
	SHLQ   $2, R9
	XORQ   R8, R8
	VPXORD Z9, Z9, Z9

bd_vec:
	MOVQ    mean+40(FP), R10
	VMOVUPS (R10)(R8*1), Z4
	MOVQ    inv+48(FP), R10
	VMOVUPS (R10)(R8*1), Z5
	MOVQ    gamma+56(FP), R10
	VMOVUPS (R10)(R8*1), Z14
	MOVQ    beta+64(FP), R10
	VMOVUPS (R10)(R8*1), Z15
	MOVQ    k+72(FP), R10
	VMOVUPS (R10)(R8*1), Z6
	MOVQ    mb+80(FP), R10
	VMOVUPS (R10)(R8*1), Z7
	MOVQ    mg+88(FP), R10
	VMOVUPS (R10)(R8*1), Z8
	XORQ    AX, AX
	MOVQ    rows+24(FP), BX
	TESTQ   BX, BX
	JZ      bd_next

bd_row:
	VMOVUPS   (SI)(AX*1), Z0
	VSUBPS    Z4, Z0, Z0
	VMULPS    Z5, Z0, Z0
	VMULPS    Z14, Z0, Z1
	VADDPS    Z15, Z1, Z1
	VCMPPS    $14, Z9, Z1, K1
	VMOVUPS.Z (DX)(AX*1), K1, Z2
	VSUBPS    Z7, Z2, Z2
	VMULPS    Z8, Z0, Z0
	VSUBPS    Z0, Z2, Z2
	VMULPS    Z6, Z2, Z2
	VMOVUPS   Z2, (CX)(AX*1)
	ADDQ      R9, AX
	DECQ      BX
	JNZ       bd_row

bd_next:
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, CX
	ADDQ $64, R8
	CMPQ R8, R9
	JLT  bd_vec
	VZEROUPPER
	RET

// func poolRow512(r0, r1, y *float32, half, c int)
// One output row of a 2x2, stride 2 max-pool: for px < half,
// y[px*c+j] = max of r0 and r1 at pixels 2px and 2px+1, channel j.
TEXT ·poolRow512(SB), NOSPLIT, $0-40
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DI
	MOVQ y+16(FP), DX
	MOVQ half+24(FP), CX
	MOVQ c+32(FP), R9
	SHLQ $2, R9
	TESTQ CX, CX
	JZ   pool_done

pool_px:
	XORQ R8, R8

pool_vec:
	MOVQ    R8, AX
	ADDQ    R9, AX
	VMOVUPS (SI)(R8*1), Z0
	VMAXPS  (SI)(AX*1), Z0, Z0
	VMOVUPS (DI)(R8*1), Z1
	VMAXPS  (DI)(AX*1), Z1, Z1
	VMAXPS  Z1, Z0, Z0
	VMOVUPS Z0, (DX)(R8*1)
	ADDQ    $64, R8
	CMPQ    R8, R9
	JLT     pool_vec
	LEAQ    (SI)(R9*2), SI
	LEAQ    (DI)(R9*2), DI
	ADDQ    R9, DX
	DECQ    CX
	JNZ     pool_px

pool_done:
	VZEROUPPER
	RET

// func poolGradRow512(r0, r1, y, dy, d0, d1 *float32, half, c int)
// The gradient of poolRow512: each dy goes to the first of the four inputs
// (scan order: r0 left, r0 right, r1 left, r1 right) equal to its maximum
// y, the other three get 0; d0 and d1 are the gradient rows of r0 and r1,
// all of whose first 2*half pixels are written.
TEXT ·poolGradRow512(SB), NOSPLIT, $0-64
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DI
	MOVQ y+16(FP), DX
	MOVQ dy+24(FP), BX
	MOVQ d0+32(FP), R10
	MOVQ d1+40(FP), R11
	MOVQ half+48(FP), CX
	MOVQ c+56(FP), R9
	SHLQ $2, R9
	TESTQ CX, CX
	JZ   pg_done

pg_px:
	XORQ R8, R8

pg_vec:
	MOVQ      R8, AX
	ADDQ      R9, AX
	VMOVUPS   (DX)(R8*1), Z0
	VMOVUPS   (BX)(R8*1), Z1
	VCMPPS    $0, (SI)(R8*1), Z0, K1
	VMOVUPS.Z Z1, K1, Z2
	VMOVUPS   Z2, (R10)(R8*1)
	VCMPPS    $0, (SI)(AX*1), Z0, K2
	KANDNW    K2, K1, K2
	VMOVUPS.Z Z1, K2, Z3
	VMOVUPS   Z3, (R10)(AX*1)
	KORW      K2, K1, K5
	VCMPPS    $0, (DI)(R8*1), Z0, K3
	KANDNW    K3, K5, K3
	VMOVUPS.Z Z1, K3, Z4
	VMOVUPS   Z4, (R11)(R8*1)
	KORW      K3, K5, K5
	VCMPPS    $0, (DI)(AX*1), Z0, K4
	KANDNW    K4, K5, K4
	VMOVUPS.Z Z1, K4, Z5
	VMOVUPS   Z5, (R11)(AX*1)
	ADDQ      $64, R8
	CMPQ      R8, R9
	JLT       pg_vec
	LEAQ      (SI)(R9*2), SI
	LEAQ      (DI)(R9*2), DI
	LEAQ      (R10)(R9*2), R10
	LEAQ      (R11)(R9*2), R11
	ADDQ      R9, DX
	ADDQ      R9, BX
	DECQ      CX
	JNZ       pg_px

pg_done:
	VZEROUPPER
	RET
