/* compat.h: one kernel source for CUDA (clang -x cuda) and OpenCL C 1.2.
   Provisional copy for branch i29-gpukern; the device layer (i29-gpudev)
   owns this file. */
#ifndef DC_COMPAT_H
#define DC_COMPAT_H
#ifdef __OPENCL_VERSION__
#define KERNEL __kernel
#define GLOBAL __global
#define LOCAL __local
#define DEVICE static inline
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
#define THREAD_X ((int)get_local_id(0))
#define THREAD_Y ((int)get_local_id(1))
#define BLOCK_X ((int)get_group_id(0))
#define BLOCK_Y ((int)get_group_id(1))
#define BLOCK_Z ((int)get_group_id(2))
#define BLOCK_DIM_X ((int)get_local_size(0))
#define BLOCK_DIM_Y ((int)get_local_size(1))
#define GRID_DIM_X ((int)get_num_groups(0))
#define EXPF(x) exp(x)
#define LOGF(x) log(x)
#define SQRTF(x) sqrt(x)
#else
#include <__clang_cuda_builtin_vars.h>
#define KERNEL extern "C" __attribute__((global))
#define GLOBAL
#define LOCAL __attribute__((shared))
#define DEVICE static __attribute__((device)) inline
#define BARRIER() __syncthreads()
#define THREAD_X ((int)threadIdx.x)
#define THREAD_Y ((int)threadIdx.y)
#define BLOCK_X ((int)blockIdx.x)
#define BLOCK_Y ((int)blockIdx.y)
#define BLOCK_Z ((int)blockIdx.z)
#define BLOCK_DIM_X ((int)blockDim.x)
#define BLOCK_DIM_Y ((int)blockDim.y)
#define GRID_DIM_X ((int)gridDim.x)
#define EXPF(x) __nvvm_ex2_approx_f((x) * 1.4426950408889634f)
#define LOGF(x) (__nvvm_lg2_approx_f(x) * 0.6931471805599453f)
#define SQRTF(x) __builtin_sqrtf(x)
#endif
#endif
