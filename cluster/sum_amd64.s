//go:build amd64

#include "textflag.h"

// func sumRows512(sum *float64, x *float32, d int, rows *int32, nrows int)
// sum[j] = sum over r of x[rows[r]*d + j], in float64, for j < d &^ 7, adding
// the rows in the given order. Needs AVX-512F.
TEXT ·sumRows512(SB), NOSPLIT, $0-40
	MOVQ sum+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ d+16(FP), R9
	MOVQ rows+24(FP), BX
	MOVQ nrows+32(FP), CX
	MOVQ R9, DX
	SHLQ $2, DX
	XORQ R8, R8

chunk32:
	LEAQ 32(R8), AX
	CMPQ AX, R9
	JGT  chunk8
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	XORQ   R10, R10

rows32:
	CMPQ      R10, CX
	JGE       store32
	MOVLQSX   (BX)(R10*4), AX
	IMULQ     DX, AX
	ADDQ      SI, AX
	LEAQ      (AX)(R8*4), AX
	VCVTPS2PD (AX), Z4
	VADDPD    Z4, Z0, Z0
	VCVTPS2PD 32(AX), Z5
	VADDPD    Z5, Z1, Z1
	VCVTPS2PD 64(AX), Z6
	VADDPD    Z6, Z2, Z2
	VCVTPS2PD 96(AX), Z7
	VADDPD    Z7, Z3, Z3
	INCQ      R10
	JMP       rows32

store32:
	VMOVUPD Z0, (DI)(R8*8)
	VMOVUPD Z1, 64(DI)(R8*8)
	VMOVUPD Z2, 128(DI)(R8*8)
	VMOVUPD Z3, 192(DI)(R8*8)
	ADDQ    $32, R8
	JMP     chunk32

chunk8:
	LEAQ 8(R8), AX
	CMPQ AX, R9
	JGT  done
	VPXORQ Z0, Z0, Z0
	XORQ   R10, R10

rows8:
	CMPQ      R10, CX
	JGE       store8
	MOVLQSX   (BX)(R10*4), AX
	IMULQ     DX, AX
	ADDQ      SI, AX
	LEAQ      (AX)(R8*4), AX
	VCVTPS2PD (AX), Z4
	VADDPD    Z4, Z0, Z0
	INCQ      R10
	JMP       rows8

store8:
	VMOVUPD Z0, (DI)(R8*8)
	ADDQ    $8, R8
	JMP     chunk8

done:
	VZEROUPPER
	RET
