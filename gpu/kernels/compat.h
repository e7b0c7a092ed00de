/*
 * compat.h: the one macro layer under every kernel in gpu/kernels, so that
 * the same file compiles as CUDA C++ (clang-19 -x cuda, no CUDA headers, no
 * libdevice; see `make ptx`) and as OpenCL C 1.2 (clBuildProgram, e.g. on
 * PoCL). The idea is hashcat's inc_vendor.h and Blender Cycles' compat
 * headers. Kernel sources include it first: #include "compat.h" (the OpenCL
 * loader splices this file in place of that line, keeping line numbers).
 *
 * The subset both languages accept:
 *   - C99 statements and expressions; no templates, no overloading, no
 *     references; specialise with -D (see kernels.go, "dc:define").
 *   - KERNEL name(GLOBAL float *x, int xoff, int n, float a): a kernel.
 *     Arguments are GLOBAL pointers, int or float. Index buffers with
 *     integer offsets (OpenCL has no pointers into sub-buffers).
 *   - DEVICE: a helper function (static inline on both).
 *   - LOCAL float s[256]; shared/local memory, declared at kernel scope only.
 *   - LOCAL_ID(d), GROUP_ID(d), GROUP_SIZE(d), NUM_GROUPS(d), GLOBAL_ID(d),
 *     GLOBAL_SIZE(d) for d = 0, 1, 2 (a literal), as int. CUDA names:
 *     threadIdx, blockIdx, blockDim, gridDim.
 *   - BARRIER(): every thread of the block waits; local and global memory
 *     writes before it are visible after it.
 *   - EXPF LOGF SQRTF RSQRTF FMAXF FMINF FABSF FMAF, DC_INF, DC_FLT_MAX.
 *     On CUDA, EXPF and LOGF use the NVVM approximate base-2 builtins (there
 *     is no libdevice): EXPF is compensated (relative error about that of
 *     ex2.approx itself, ~2 ulp); LOGF has an absolute error of ~1e-7.
 *   - No float atomics, no printf, no dynamic shared memory, no recursion.
 * DC_CUDA or DC_OPENCL is defined to 1 for the rare code that must differ.
 */
#ifndef DC_COMPAT_H
#define DC_COMPAT_H

#define DC_CAT_(a, b) a##b
#define DC_CAT(a, b) DC_CAT_(a, b)

#if defined(__OPENCL_VERSION__) || defined(__OPENCL_C_VERSION__)

#define DC_OPENCL 1
#define KERNEL __kernel void
#define DEVICE static inline
#define GLOBAL __global
#define LOCAL __local
#define RESTRICT restrict

#define LOCAL_ID(d) ((int)get_local_id(d))
#define GROUP_ID(d) ((int)get_group_id(d))
#define GROUP_SIZE(d) ((int)get_local_size(d))
#define NUM_GROUPS(d) ((int)get_num_groups(d))
#define GLOBAL_ID(d) ((int)get_global_id(d))
#define GLOBAL_SIZE(d) ((int)get_global_size(d))
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)

#define EXPF(x) exp((float)(x))
#define LOGF(x) log((float)(x))
#define SQRTF(x) sqrt((float)(x))
#define RSQRTF(x) rsqrt((float)(x))
#define FMAXF(a, b) fmax((float)(a), (float)(b))
#define FMINF(a, b) fmin((float)(a), (float)(b))
#define FABSF(x) fabs((float)(x))
#define FMAF(a, b, c) fma((float)(a), (float)(b), (float)(c))
#define DC_INF INFINITY
#define DC_FLT_MAX FLT_MAX

#elif defined(__CUDA__)

#define DC_CUDA 1
/* extern "C": the PTX entry is the plain kernel name, which is what
 * cuModuleGetFunction and the device layer look up. */
#define KERNEL extern "C" __attribute__((global)) void
#define DEVICE static __attribute__((device)) inline
#define GLOBAL
#define LOCAL __attribute__((shared))
#define RESTRICT __restrict__
typedef unsigned int uint;

#define DC_TID_0 __nvvm_read_ptx_sreg_tid_x
#define DC_TID_1 __nvvm_read_ptx_sreg_tid_y
#define DC_TID_2 __nvvm_read_ptx_sreg_tid_z
#define DC_CTAID_0 __nvvm_read_ptx_sreg_ctaid_x
#define DC_CTAID_1 __nvvm_read_ptx_sreg_ctaid_y
#define DC_CTAID_2 __nvvm_read_ptx_sreg_ctaid_z
#define DC_NTID_0 __nvvm_read_ptx_sreg_ntid_x
#define DC_NTID_1 __nvvm_read_ptx_sreg_ntid_y
#define DC_NTID_2 __nvvm_read_ptx_sreg_ntid_z
#define DC_NCTAID_0 __nvvm_read_ptx_sreg_nctaid_x
#define DC_NCTAID_1 __nvvm_read_ptx_sreg_nctaid_y
#define DC_NCTAID_2 __nvvm_read_ptx_sreg_nctaid_z

#define LOCAL_ID(d) ((int)DC_CAT(DC_TID_, d)())
#define GROUP_ID(d) ((int)DC_CAT(DC_CTAID_, d)())
#define GROUP_SIZE(d) ((int)DC_CAT(DC_NTID_, d)())
#define NUM_GROUPS(d) ((int)DC_CAT(DC_NCTAID_, d)())
#define GLOBAL_ID(d) (GROUP_ID(d) * GROUP_SIZE(d) + LOCAL_ID(d))
#define GLOBAL_SIZE(d) (NUM_GROUPS(d) * GROUP_SIZE(d))
#define BARRIER() __syncthreads()

#define DC_INF __builtin_inff()
#define DC_FLT_MAX 3.402823466e+38f

/* e^x = 2^(x*log2(e)). The product is split into hi + lo (lo from an FMA
 * and the tail of log2(e)) so that its rounding error, which the exponent
 * would amplify by |x| (CUDA's __expf: 2 + 1.17|x| ulp), is put back:
 * 2^(hi+lo) ~= 2^hi * (1 + lo*ln2). Outside |hi| < 128 the plain result
 * (0, inf, NaN) is already right. */
DEVICE float dc_expf(float x) {
	const float l2e = 1.44269502162933349609375f;
	const float l2e_tail = 1.925963033500011e-08f;
	float hi = x * l2e;
	float lo = __builtin_fmaf(x, l2e, -hi) + x * l2e_tail;
	float r = __nvvm_ex2_approx_f(hi);
	float c = __builtin_fmaf(r, lo * 0.693147180559945309f, r);
	return __builtin_fabsf(hi) < 128.0f ? c : r;
}

/* ln x = log2(x) * ln2 (lg2.approx: absolute error ~2^-22). */
DEVICE float dc_logf(float x) {
	return __nvvm_lg2_approx_f(x) * 0.693147180559945309f;
}

#define EXPF(x) dc_expf((float)(x))
#define LOGF(x) dc_logf((float)(x))
#define SQRTF(x) __builtin_sqrtf((float)(x))
#define RSQRTF(x) (1.0f / __builtin_sqrtf((float)(x)))
#define FMAXF(a, b) __builtin_fmaxf((float)(a), (float)(b))
#define FMINF(a, b) __builtin_fminf((float)(a), (float)(b))
#define FABSF(x) __builtin_fabsf((float)(x))
#define FMAF(a, b, c) __builtin_fmaf((float)(a), (float)(b), (float)(c))

#else
#error "compat.h: compile as OpenCL C or as CUDA (clang -x cuda)"
#endif

#endif /* DC_COMPAT_H */
