//go:build ignore

// gen_kernels writes kernels_amd64.s, the AVX-512 and AVX2 micro-kernels.
// Run with `go generate` in this directory.
package main

import (
	"bytes"
	"fmt"
	"os"
)

var b bytes.Buffer

func f(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }

// isa describes one vector width.
type isa struct {
	name   string // function suffix
	reg    string // "Z" or "Y"
	vbytes int    // bytes per vector
	nr     int    // broadcast rows
	halves int    // vectors per broadcast row: mr = halves * vbytes / 4
}

// rowAddr is the address of row j of Q: up to four base registers 4 rows
// apart, with R8 = row stride, R9 = 3 * row stride.
func rowAddr(j int) string {
	base := []string{"R10", "R11", "R12", "DX"}[j/4]
	switch j % 4 {
	case 0:
		return "(" + base + ")"
	case 1:
		return "(" + base + ")(R8*1)"
	case 2:
		return "(" + base + ")(R8*2)"
	}
	return "(" + base + ")(R9*1)"
}

// acc is the accumulator of row j, half h: registers from 8 (512) or 4 (256).
func (s isa) acc(j, h int) string {
	first := 8
	if s.reg == "Y" {
		first = 4
	}
	return fmt.Sprintf("%s%d", s.reg, first+s.halves*j+h)
}

func (s isa) v(i int) string { return fmt.Sprintf("%s%d", s.reg, i) }

// mainLoop emits the accumulation over kc: acc(j,h) += P(p, h-half) * Q(j,p).
func (s isa) mainLoop(fn string) {
	f("\tMOVQ kc+0(FP), CX")
	f("\tMOVQ p+8(FP), SI")
	f("\tMOVQ q+16(FP), R10")
	f("\tMOVQ rs+24(FP), R8")
	f("\tSHLQ $2, R8")
	f("\tLEAQ (R8)(R8*2), R9")
	f("\tLEAQ (R10)(R8*4), R11")
	f("\tLEAQ (R11)(R8*4), R12")
	if s.nr > 12 {
		f("\tLEAQ (R12)(R8*4), DX")
	}
	f("\tMOVQ ps+32(FP), R13")
	f("\tSHLQ $2, R13")
	for j := 0; j < s.nr; j++ {
		for h := 0; h < s.halves; h++ {
			if s.reg == "Z" {
				f("\tVPXORD %s, %s, %s", s.acc(j, h), s.acc(j, h), s.acc(j, h))
			} else {
				f("\tVXORPS %s, %s, %s", s.acc(j, h), s.acc(j, h), s.acc(j, h))
			}
		}
	}
	f("\tTESTQ CX, CX")
	f("\tJZ %s_tail", fn)
	f("%s_loop:", fn)
	f("\tVMOVUPS (SI), %s", s.v(0))
	if s.halves == 2 {
		f("\tVMOVUPS %d(SI), %s", s.vbytes, s.v(1))
	}
	temps := []int{2, 3, 4, 5, 6, 7}
	if s.reg == "Y" {
		temps = []int{2, 3}
	}
	for j := 0; j < s.nr; j++ {
		t := s.v(temps[j%len(temps)])
		f("\tVBROADCASTSS %s, %s", rowAddr(j), t)
		for h := 0; h < s.halves; h++ {
			f("\tVFMADD231PS %s, %s, %s", s.v(h), t, s.acc(j, h))
		}
	}
	f("\tADDQ $%d, SI", s.halves*s.vbytes)
	f("\tADDQ R13, R10")
	if s.nr > 4 {
		f("\tADDQ R13, R11")
	}
	if s.nr > 8 {
		f("\tADDQ R13, R12")
	}
	if s.nr > 12 {
		f("\tADDQ R13, DX")
	}
	f("\tDECQ CX")
	f("\tJNZ %s_loop", fn)
	f("%s_tail:", fn)
}

func (s isa) gemm() {
	fn := "gemm" + s.name
	f("// func %s(kc int, p, q *float32, rs, ps int, c *float32, ldc int, alpha, beta float32)", fn)
	f("TEXT ·%s(SB), NOSPLIT, $0-64", fn)
	s.mainLoop(fn)
	f("\tMOVQ c+40(FP), DI")
	f("\tMOVQ ldc+48(FP), BX")
	f("\tSHLQ $2, BX")
	f("\tVBROADCASTSS alpha+56(FP), %s", s.v(0))
	f("\tVBROADCASTSS beta+60(FP), %s", s.v(1))
	f("\tMOVL beta+60(FP), AX")
	f("\tTESTL AX, AX")
	f("\tJZ %s_nobeta", fn)
	for j := 0; j < s.nr; j++ {
		for h := 0; h < s.halves; h++ {
			a := s.acc(j, h)
			f("\tVMULPS %s, %s, %s", s.v(0), a, a)
			f("\tVFMADD231PS %d(DI), %s, %s", h*s.vbytes, s.v(1), a)
			f("\tVMOVUPS %s, %d(DI)", a, h*s.vbytes)
		}
		f("\tADDQ BX, DI")
	}
	f("\tVZEROUPPER")
	f("\tRET")
	f("%s_nobeta:", fn)
	for j := 0; j < s.nr; j++ {
		for h := 0; h < s.halves; h++ {
			a := s.acc(j, h)
			f("\tVMULPS %s, %s, %s", s.v(0), a, a)
			f("\tVMOVUPS %s, %d(DI)", a, h*s.vbytes)
		}
		f("\tADDQ BX, DI")
	}
	f("\tVZEROUPPER")
	f("\tRET")
	f("")
}

func (s isa) argmin() {
	fn := "argmin" + s.name
	f("// func %s(kc int, p, q *float32, rs, ps int, cn, minv *float32, idxv *int32, j0 int32)", fn)
	f("TEXT ·%s(SB), NOSPLIT, $0-68", fn)
	s.mainLoop(fn)
	f("\tMOVQ cn+40(FP), AX")
	f("\tMOVQ minv+48(FP), DI")
	f("\tMOVQ idxv+56(FP), DX")
	vb := s.vbytes
	if s.reg == "Z" {
		f("\tVMOVUPS (AX), Z0")
		f("\tVMOVUPS 64(AX), Z1")
		f("\tMOVL j0+64(FP), BX")
		f("\tVPBROADCASTD BX, Z4")
		f("\tVPADDD iota<>+0(SB), Z4, Z2")
		f("\tVPADDD iota<>+64(SB), Z4, Z3")
		for j := 0; j < s.nr; j++ {
			for h := 0; h < 2; h++ {
				a := s.acc(j, h)
				k := []string{"K1", "K2"}[h]
				f("\tVADDPS %s, %s, %s", s.v(h), a, a)
				f("\tVCMPPS $1, %d(DI), %s, %s", h*vb, a, k)
				f("\tVMOVUPS %s, %s, %d(DI)", a, k, h*vb)
				f("\tVMOVDQU32 %s, %s, %d(DX)", s.v(2+h), k, h*vb)
			}
			f("\tADDQ $%d, DI", 2*vb)
			f("\tADDQ $%d, DX", 2*vb)
		}
	} else {
		f("\tMOVL j0+64(FP), BX")
		f("\tVMOVUPS (AX), Y0")
		f("\tVMOVUPS 32(AX), Y1")
		for j := 0; j < s.nr; j++ {
			f("\tVADDPS Y0, %s, %s", s.acc(j, 0), s.acc(j, 0))
			f("\tVADDPS Y1, %s, %s", s.acc(j, 1), s.acc(j, 1))
		}
		for j := 0; j < s.nr; j++ {
			for h := 0; h < 2; h++ {
				a := s.acc(j, h)
				f("\tVMOVUPS %d(DI), Y0", h*vb)
				f("\tVCMPPS $1, Y0, %s, Y1", a) // Y1 = a < min
				f("\tVMINPS Y0, %s, Y0", a)
				f("\tVMOVUPS Y0, %d(DI)", h*vb)
				f("\tVMOVD BX, X2")
				f("\tVPBROADCASTD X2, Y2")
				f("\tVPADDD iota<>+%d(SB), Y2, Y2", h*vb)
				f("\tVMOVDQU %d(DX), Y3", h*vb)
				f("\tVPAND Y2, Y1, Y2")
				f("\tVPANDN Y3, Y1, Y3")
				f("\tVPOR Y2, Y3, Y3")
				f("\tVMOVDQU Y3, %d(DX)", h*vb)
			}
			f("\tADDQ $%d, DI", 2*vb)
			f("\tADDQ $%d, DX", 2*vb)
		}
	}
	f("\tVZEROUPPER")
	f("\tRET")
	f("")
}

func main() {
	f("// Code generated by gen_kernels.go; DO NOT EDIT.")
	f("")
	f("//go:build amd64")
	f("")
	f("#include \"textflag.h\"")
	f("")
	for i := 0; i < 32; i++ {
		f("DATA iota<>+%d(SB)/4, $%d", 4*i, i)
	}
	f("GLOBL iota<>(SB), RODATA|NOPTR, $128")
	f("")
	f("// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)")
	f("TEXT ·cpuid(SB), NOSPLIT, $0-24")
	f("\tMOVL eaxArg+0(FP), AX")
	f("\tMOVL ecxArg+4(FP), CX")
	f("\tCPUID")
	f("\tMOVL AX, eax+8(FP)")
	f("\tMOVL BX, ebx+12(FP)")
	f("\tMOVL CX, ecx+16(FP)")
	f("\tMOVL DX, edx+20(FP)")
	f("\tRET")
	f("")
	f("// func xgetbv() (eax, edx uint32)")
	f("TEXT ·xgetbv(SB), NOSPLIT, $0-8")
	f("\tMOVL $0, CX")
	f("\tXGETBV")
	f("\tMOVL AX, eax+0(FP)")
	f("\tMOVL DX, edx+4(FP)")
	f("\tRET")
	f("")
	for _, s := range []isa{{"512", "Z", 64, 12, 2}, {"256", "Y", 32, 6, 2}} {
		s.gemm()
		s.argmin()
	}
	// The narrow kernel: one vector of 16 lanes by 16 rows, for products
	// with at most 16 columns (convolutions with 16 output channels), where
	// the 32-lane kernel would compute half padding.
	isa{"512n16", "Z", 64, 16, 1}.gemm()
	if err := os.WriteFile("kernels_amd64.s", b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
