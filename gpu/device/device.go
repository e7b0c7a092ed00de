// Package device is the thin layer between the GPU backend and a compute
// API: memory, copies, kernel launches and synchronisation, with one
// implementation over the CUDA driver API (libcuda.so.1) and one over
// OpenCL (libOpenCL.so.1), both loaded at run time with purego, never cgo.
//
// Kernels are written once, in the C subset of gpu/kernels, and compiled
// to PTX for CUDA (committed, embedded) or built from source as OpenCL C.
// Everything above this package (the order of launches, buffers, the
// training step) is the same code on both, so CI verifies it on PoCL.
package device

import "errors"

// Buffer is a block of device memory. Offsets into it are passed to
// kernels as integer arguments, never as pointer arithmetic (OpenCL has
// no sub-buffer pointers).
type Buffer interface {
	// Bytes is the buffer's size.
	Bytes() int
}

// Dim is a launch dimension: X, Y, Z.
type Dim [3]int

// Device is one GPU (or OpenCL device) with its context and one in-order
// queue. Calls are made from one goroutine at a time. Copies and launches
// are queued in order; Finish waits for all of them.
type Device interface {
	// Kind is "cuda" or "opencl".
	Kind() string
	// Name is the device's name as its driver reports it.
	Name() string
	// MemoryBytes is the device's global memory.
	MemoryBytes() int64

	// Alloc returns a buffer of n bytes, contents undefined.
	Alloc(n int) (Buffer, error)
	// Free releases b; freeing nil does nothing.
	Free(b Buffer)
	// WriteF32 copies src into dst starting at element off (float32
	// elements); ReadF32 copies back. Both return once the host slice may
	// be reused (reads wait for the data).
	WriteF32(dst Buffer, off int, src []float32) error
	ReadF32(src Buffer, off int, dst []float32) error
	// WriteI32 and ReadI32 are the same for int32 elements.
	WriteI32(dst Buffer, off int, src []int32) error
	ReadI32(src Buffer, off int, dst []int32) error

	// Launch queues kernel name over grid blocks of block threads each
	// (CUDA's terms; OpenCL's global size is grid*block). Arguments are
	// Buffer, int32 or float32, in the kernel's parameter order.
	Launch(name string, grid, block Dim, args ...any) error
	// Finish waits until everything queued has run and reports the first
	// asynchronous error.
	Finish() error
	// Close frees the context and everything allocated from it.
	Close() error
}

// ErrUnavailable wraps every "no such driver or device" error, so that
// --device auto can fall back to the CPU while --device cuda|opencl fails
// with the wrapped message.
var ErrUnavailable = errors.New("device unavailable")
