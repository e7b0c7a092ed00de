package device

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/deepercluster/deepercluster/gpu/kernels"
)

// OpenCLDeviceEnv selects the OpenCL device: a number N (the N-th device
// over all platforms, from 0) or a case-insensitive part of "platform:
// device name". Unset: the first GPU, else the first device.
const OpenCLDeviceEnv = "DEEPERCLUSTER_OPENCL_DEVICE"

// OpenCLLibraryEnv, when set, is the path of the OpenCL ICD loader to use
// instead of searching for libOpenCL.so.1.
const OpenCLLibraryEnv = "DEEPERCLUSTER_OPENCL_LIBRARY"

var openCLSearch = libSearch{
	soname: "libOpenCL.so.1",
	env:    OpenCLLibraryEnv,
	extra: []string{
		"/usr/lib/x86_64-linux-gnu/libOpenCL.so.1",
		"/usr/lib/aarch64-linux-gnu/libOpenCL.so.1",
		"/usr/lib64/libOpenCL.so.1",
		"/usr/local/cuda/lib64/libOpenCL.so.1",
		"/opt/rocm/lib/libOpenCL.so.1",
	},
}

// OpenCL constants (cl.h, OpenCL 1.2).
const (
	clSuccess             = 0
	clDeviceNotFound      = -1
	clDeviceTypeGPU       = 1 << 2
	clDeviceTypeAll       = 0xFFFFFFFF
	clPlatformName        = 0x0902
	clDeviceType          = 0x1000
	clDeviceMaxWorkGroup  = 0x1004
	clDeviceGlobalMemSize = 0x101F
	clDeviceName          = 0x102B
	clMemReadWrite        = 1 << 0
	clProgramBuildLog     = 0x1183
	clKernelNumArgs       = 0x1191
	clTrue                = 1
)

// clAPI holds the entry points of one loaded libOpenCL.so.1.
type clAPI struct {
	getPlatformIDs, getPlatformInfo, getDeviceIDs, getDeviceInfo              uintptr
	createContext, createCommandQueue, createBuffer, releaseMemObject         uintptr
	enqueueWriteBuffer, enqueueReadBuffer, createProgramWithSource            uintptr
	buildProgram, getProgramBuildInfo, createKernel, getKernelInfo            uintptr
	setKernelArg, enqueueNDRangeKernel, finish, releaseKernel, releaseProgram uintptr
	releaseCommandQueue, releaseContext                                       uintptr
}

func (a *clAPI) load(lib uintptr) error {
	return symbols(lib, openCLSearch.soname, map[string]*uintptr{
		"clGetPlatformIDs": &a.getPlatformIDs, "clGetPlatformInfo": &a.getPlatformInfo,
		"clGetDeviceIDs": &a.getDeviceIDs, "clGetDeviceInfo": &a.getDeviceInfo,
		"clCreateContext": &a.createContext, "clCreateCommandQueue": &a.createCommandQueue,
		"clCreateBuffer": &a.createBuffer, "clReleaseMemObject": &a.releaseMemObject,
		"clEnqueueWriteBuffer": &a.enqueueWriteBuffer, "clEnqueueReadBuffer": &a.enqueueReadBuffer,
		"clCreateProgramWithSource": &a.createProgramWithSource, "clBuildProgram": &a.buildProgram,
		"clGetProgramBuildInfo": &a.getProgramBuildInfo, "clCreateKernel": &a.createKernel,
		"clGetKernelInfo": &a.getKernelInfo, "clSetKernelArg": &a.setKernelArg,
		"clEnqueueNDRangeKernel": &a.enqueueNDRangeKernel, "clFinish": &a.finish,
		"clReleaseKernel": &a.releaseKernel, "clReleaseProgram": &a.releaseProgram,
		"clReleaseCommandQueue": &a.releaseCommandQueue, "clReleaseContext": &a.releaseContext,
	})
}

// clErr turns a cl_int status into an error naming the call.
func clErr(op string, status uintptr) error {
	code := int32(status)
	if code == clSuccess {
		return nil
	}
	return fmt.Errorf("opencl: %s: %s (%d)", op, clErrorName(code), code)
}

func clErrorName(code int32) string {
	names := map[int32]string{
		-1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE", -3: "CL_COMPILER_NOT_AVAILABLE",
		-4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY",
		-11: "CL_BUILD_PROGRAM_FAILURE", -30: "CL_INVALID_VALUE", -33: "CL_INVALID_DEVICE",
		-34: "CL_INVALID_CONTEXT", -36: "CL_INVALID_COMMAND_QUEUE", -38: "CL_INVALID_MEM_OBJECT",
		-43: "CL_INVALID_BUILD_OPTIONS", -44: "CL_INVALID_PROGRAM", -45: "CL_INVALID_PROGRAM_EXECUTABLE",
		-46: "CL_INVALID_KERNEL_NAME", -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX",
		-50: "CL_INVALID_ARG_VALUE", -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS",
		-53: "CL_INVALID_WORK_DIMENSION", -54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE",
		-61: "CL_INVALID_BUFFER_SIZE", -63: "CL_INVALID_GLOBAL_WORK_SIZE", -1001: "CL_PLATFORM_NOT_FOUND_KHR",
	}
	if n, ok := names[code]; ok {
		return n
	}
	return "CL error"
}

// clBuffer is a cl_mem of one openCL device.
type clBuffer struct {
	mem   uintptr
	n     int
	owner *openCL
}

// Bytes is the size asked for at Alloc.
func (b *clBuffer) Bytes() int { return b.n }

type clKernel struct {
	handle uintptr
	sig    []kernels.Param // from the PTX, when there is one
	hasSig bool
	nargs  int
}

// openCL is a Device over one OpenCL device, with its own context, one
// in-order queue, and the programs built so far (one per kernel source,
// built at the first launch of one of its kernels).
type openCL struct {
	api                      clAPI
	lib                      *kernels.Library
	device, ctx, queue       uintptr
	name                     string
	memBytes                 int64
	maxGroup                 int
	programs                 map[string]uintptr
	kernels                  map[string]clKernel
	live                     map[*clBuffer]struct{}
	closed                   bool
	capturing                bool
	recorded                 []clLaunch
	deferred                 []*clBuffer // frees asked for during a capture
	platformName, deviceName string
}

// OpenOpenCL opens the OpenCL device chosen by DEEPERCLUSTER_OPENCL_DEVICE
// (default: the first GPU, else the first device) with the embedded
// kernels. Without libOpenCL.so.1 or without a device, the error wraps
// ErrUnavailable.
func OpenOpenCL() (Device, error) {
	lib, err := kernels.Embedded()
	if err != nil {
		return nil, err
	}
	return OpenOpenCLWith(lib, os.Getenv(OpenCLDeviceEnv))
}

// OpenOpenCLWith opens the OpenCL device that selector names (as
// DEEPERCLUSTER_OPENCL_DEVICE; "" for the default) with the kernels of
// lib, e.g. a library with extra kernels in a test.
func OpenOpenCLWith(lib *kernels.Library, selector string) (Device, error) {
	h, path, err := openCLSearch.open()
	if err != nil {
		return nil, fmt.Errorf("opencl: %w", err)
	}
	d := &openCL{lib: lib, programs: map[string]uintptr{}, kernels: map[string]clKernel{}, live: map[*clBuffer]struct{}{}}
	if err := d.api.load(h); err != nil {
		return nil, fmt.Errorf("opencl: %w", err)
	}
	if err := d.pick(selector); err != nil {
		return nil, err
	}
	var status int32
	dev := d.device
	d.ctx = call(d.api.createContext, 0, 1, uintptr(unsafe.Pointer(&dev)), 0, 0, uintptr(unsafe.Pointer(&status)))
	if err := clErr("clCreateContext", uintptr(status)); err != nil {
		return nil, err
	}
	d.queue = call(d.api.createCommandQueue, d.ctx, d.device, 0, uintptr(unsafe.Pointer(&status)))
	if err := clErr("clCreateCommandQueue", uintptr(status)); err != nil {
		call(d.api.releaseContext, d.ctx)
		return nil, err
	}
	slog.Info("opencl device opened", "library", path, "platform", d.platformName, "device", d.deviceName, "memory_bytes", d.memBytes)
	return d, nil
}

// pick enumerates every device of every platform and keeps the one the
// selector names.
func (d *openCL) pick(selector string) error {
	var n uint32
	if st := int32(call(d.api.getPlatformIDs, 0, 0, uintptr(unsafe.Pointer(&n)))); st != clSuccess || n == 0 {
		return fmt.Errorf("opencl: no OpenCL platform (no ICD in /etc/OpenCL/vendors? clGetPlatformIDs: %s): %w", clErrorName(st), ErrUnavailable)
	}
	platforms := make([]uintptr, n)
	if err := clErr("clGetPlatformIDs", call(d.api.getPlatformIDs, uintptr(n), uintptr(unsafe.Pointer(&platforms[0])), 0)); err != nil {
		return err
	}
	type cand struct {
		platform, device, kind uintptr
		label                  string
	}
	var all []cand
	for _, p := range platforms {
		pname, _ := d.infoString(d.api.getPlatformInfo, p, clPlatformName)
		var m uint32
		st := int32(call(d.api.getDeviceIDs, p, clDeviceTypeAll, 0, 0, uintptr(unsafe.Pointer(&m))))
		if st == clDeviceNotFound || m == 0 {
			continue
		}
		if err := clErr("clGetDeviceIDs", uintptr(st)); err != nil {
			return err
		}
		devs := make([]uintptr, m)
		if err := clErr("clGetDeviceIDs", call(d.api.getDeviceIDs, p, clDeviceTypeAll, uintptr(m), uintptr(unsafe.Pointer(&devs[0])), 0)); err != nil {
			return err
		}
		for _, dv := range devs {
			dname, _ := d.infoString(d.api.getDeviceInfo, dv, clDeviceName)
			var kind uint64
			call(d.api.getDeviceInfo, dv, clDeviceType, 8, uintptr(unsafe.Pointer(&kind)), 0)
			all = append(all, cand{p, dv, uintptr(kind), strings.TrimSpace(pname) + ": " + strings.TrimSpace(dname)})
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("opencl: no OpenCL device on %d platform(s): %w", n, ErrUnavailable)
	}
	chosen := -1
	if selector == "" {
		chosen = 0
		for i, c := range all {
			if c.kind&clDeviceTypeGPU != 0 {
				chosen = i
				break
			}
		}
	} else if i, err := strconv.Atoi(selector); err == nil {
		if i >= 0 && i < len(all) {
			chosen = i
		}
	} else {
		for i, c := range all {
			if strings.Contains(strings.ToLower(c.label), strings.ToLower(selector)) {
				chosen = i
				break
			}
		}
	}
	if chosen < 0 {
		var labels []string
		for i, c := range all {
			labels = append(labels, fmt.Sprintf("%d %q", i, c.label))
		}
		return fmt.Errorf("opencl: no OpenCL device matches %s=%q (devices: %s): %w", OpenCLDeviceEnv, selector, strings.Join(labels, ", "), ErrUnavailable)
	}
	c := all[chosen]
	d.device = c.device
	d.platformName, _ = d.infoString(d.api.getPlatformInfo, c.platform, clPlatformName)
	d.deviceName, _ = d.infoString(d.api.getDeviceInfo, c.device, clDeviceName)
	d.platformName, d.deviceName = strings.TrimSpace(d.platformName), strings.TrimSpace(d.deviceName)
	d.name = d.deviceName
	var mem uint64
	if err := clErr("clGetDeviceInfo(GLOBAL_MEM_SIZE)", call(d.api.getDeviceInfo, c.device, clDeviceGlobalMemSize, 8, uintptr(unsafe.Pointer(&mem)), 0)); err != nil {
		return err
	}
	d.memBytes = int64(mem)
	var wg uintptr
	if err := clErr("clGetDeviceInfo(MAX_WORK_GROUP_SIZE)", call(d.api.getDeviceInfo, c.device, clDeviceMaxWorkGroup, unsafe.Sizeof(wg), uintptr(unsafe.Pointer(&wg)), 0)); err != nil {
		return err
	}
	d.maxGroup = int(wg)
	return nil
}

// infoString reads a string property with a clGet*Info(obj, param, size,
// value, size_ret) function.
func (d *openCL) infoString(fn, obj uintptr, param uint32) (string, error) {
	var size uintptr
	if err := clErr("clGetInfo", call(fn, obj, uintptr(param), 0, 0, uintptr(unsafe.Pointer(&size)))); err != nil {
		return "", err
	}
	if size == 0 {
		return "", nil
	}
	buf := make([]byte, size)
	if err := clErr("clGetInfo", call(fn, obj, uintptr(param), size, uintptr(unsafe.Pointer(&buf[0])), 0)); err != nil {
		return "", err
	}
	return strings.TrimRight(string(buf), "\x00"), nil
}

// Kind is "opencl".
func (d *openCL) Kind() string { return "opencl" }

// Name is the device's name (CL_DEVICE_NAME).
func (d *openCL) Name() string { return d.name }

// MemoryBytes is CL_DEVICE_GLOBAL_MEM_SIZE.
func (d *openCL) MemoryBytes() int64 { return d.memBytes }

// Alloc creates a read-write buffer of n bytes (at least 4 on the device:
// OpenCL refuses empty buffers; Bytes still reports n).
func (d *openCL) Alloc(n int) (Buffer, error) {
	if d.closed {
		return nil, fmt.Errorf("opencl: alloc: %w", errClosed)
	}
	if d.capturing {
		return nil, fmt.Errorf("opencl: alloc during graph capture")
	}
	if n < 0 {
		return nil, fmt.Errorf("opencl: alloc of %d bytes", n)
	}
	var status int32
	mem := call(d.api.createBuffer, d.ctx, clMemReadWrite, uintptr(max(n, 4)), 0, uintptr(unsafe.Pointer(&status)))
	if err := clErr(fmt.Sprintf("clCreateBuffer(%d bytes)", n), uintptr(status)); err != nil {
		return nil, err
	}
	b := &clBuffer{mem: mem, n: n, owner: d}
	d.live[b] = struct{}{}
	return b, nil
}

// Free releases b; nil, an already freed buffer or another device's
// buffer is ignored.
func (d *openCL) Free(b Buffer) {
	cb, ok := b.(*clBuffer)
	if !ok || cb == nil || cb.owner != d || cb.mem == 0 {
		return
	}
	if d.capturing {
		d.deferred = append(d.deferred, cb)
		return
	}
	call(d.api.releaseMemObject, cb.mem)
	cb.mem = 0
	delete(d.live, cb)
}

func (d *openCL) buffer(op string, b Buffer) (*clBuffer, error) {
	if d.closed {
		return nil, fmt.Errorf("opencl: %s: %w", op, errClosed)
	}
	cb, ok := b.(*clBuffer)
	if !ok || cb == nil || cb.owner != d {
		return nil, fmt.Errorf("opencl: %s: buffer %T is not from this device", op, b)
	}
	if cb.mem == 0 {
		return nil, fmt.Errorf("opencl: %s: buffer was freed", op)
	}
	return cb, nil
}

// copy runs a blocking clEnqueueWrite/ReadBuffer of n bytes at host p.
func (d *openCL) copy(op string, fn uintptr, b Buffer, off, n int, p unsafe.Pointer) error {
	cb, err := d.buffer(op, b)
	if err != nil {
		return err
	}
	if d.capturing {
		return fmt.Errorf("opencl: %s during graph capture", op)
	}
	byteOff, byteLen, err := span("opencl: "+op, cb.n, off, n)
	if err != nil || n == 0 {
		return err
	}
	st := call(fn, d.queue, cb.mem, clTrue, uintptr(byteOff), uintptr(byteLen), uintptr(p), 0, 0, 0)
	return clErr(op, st)
}

// WriteF32 copies src into dst at element off; it returns when src may be
// reused (a blocking write).
func (d *openCL) WriteF32(dst Buffer, off int, src []float32) error {
	defer runtime.KeepAlive(src)
	return d.copy("write", d.api.enqueueWriteBuffer, dst, off, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// ReadF32 copies from src at element off into dst, waiting for the data.
func (d *openCL) ReadF32(src Buffer, off int, dst []float32) error {
	defer runtime.KeepAlive(dst)
	return d.copy("read", d.api.enqueueReadBuffer, src, off, len(dst), unsafe.Pointer(unsafe.SliceData(dst)))
}

// WriteI32 is WriteF32 for int32 elements.
func (d *openCL) WriteI32(dst Buffer, off int, src []int32) error {
	defer runtime.KeepAlive(src)
	return d.copy("write", d.api.enqueueWriteBuffer, dst, off, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// ReadI32 is ReadF32 for int32 elements.
func (d *openCL) ReadI32(src Buffer, off int, dst []int32) error {
	defer runtime.KeepAlive(dst)
	return d.copy("read", d.api.enqueueReadBuffer, src, off, len(dst), unsafe.Pointer(unsafe.SliceData(dst)))
}

// kernel returns the cached kernel object, building its source's program
// the first time one of its kernels is launched.
func (d *openCL) kernel(name string) (clKernel, error) {
	if k, ok := d.kernels[name]; ok {
		return k, nil
	}
	src, ok := d.lib.Lookup(name)
	if !ok {
		return clKernel{}, fmt.Errorf("opencl: launch %s: no such kernel in gpu/kernels", name)
	}
	prog, ok := d.programs[src.Name]
	if !ok {
		var err error
		if prog, err = d.build(src); err != nil {
			return clKernel{}, err
		}
		d.programs[src.Name] = prog
	}
	var status int32
	cname := cString(name)
	h := call(d.api.createKernel, prog, uintptr(unsafe.Pointer(&cname[0])), uintptr(unsafe.Pointer(&status)))
	if err := clErr("clCreateKernel("+name+")", uintptr(status)); err != nil {
		return clKernel{}, err
	}
	var nargs uint32
	if err := clErr("clGetKernelInfo(NUM_ARGS)", call(d.api.getKernelInfo, h, clKernelNumArgs, 4, uintptr(unsafe.Pointer(&nargs)), 0)); err != nil {
		call(d.api.releaseKernel, h)
		return clKernel{}, err
	}
	k := clKernel{handle: h, nargs: int(nargs)}
	if ptx, err := d.lib.PTX(src.Name); err == nil {
		if entries, err := kernels.Entries(ptx); err == nil {
			k.sig, k.hasSig = entries[name]
		}
	}
	if !k.hasSig {
		slog.Warn("opencl: kernel has no PTX entry, so its arguments are checked by count only (run make ptx)", "kernel", name)
	}
	d.kernels[name] = k
	return k, nil
}

// build compiles one source with compat.h and its -D defines; a failure
// carries the compiler's build log.
func (d *openCL) build(src kernels.Source) (uintptr, error) {
	text := []byte(d.lib.OpenCLSource(src))
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&text[0])
	strs := []*byte{&text[0]}
	lens := []uintptr{uintptr(len(text))}
	var status int32
	prog := call(d.api.createProgramWithSource, d.ctx, 1, uintptr(unsafe.Pointer(&strs[0])), uintptr(unsafe.Pointer(&lens[0])), uintptr(unsafe.Pointer(&status)))
	runtime.KeepAlive(strs)
	runtime.KeepAlive(lens)
	if err := clErr("clCreateProgramWithSource("+src.Name+kernels.Ext+")", uintptr(status)); err != nil {
		return 0, err
	}
	opts := cString(kernels.OpenCLOptions(src))
	dev := d.device
	st := call(d.api.buildProgram, prog, 1, uintptr(unsafe.Pointer(&dev)), uintptr(unsafe.Pointer(&opts[0])), 0, 0)
	runtime.KeepAlive(opts)
	if int32(st) != clSuccess {
		log, _ := d.buildLog(prog)
		call(d.api.releaseProgram, prog)
		return 0, fmt.Errorf("opencl: build %s%s (%s): %s (%d); build log:\n%s", src.Name, kernels.Ext, kernels.OpenCLOptions(src), clErrorName(int32(st)), int32(st), strings.TrimSpace(log))
	}
	return prog, nil
}

func (d *openCL) buildLog(prog uintptr) (string, error) {
	var size uintptr
	if err := clErr("clGetProgramBuildInfo", call(d.api.getProgramBuildInfo, prog, d.device, clProgramBuildLog, 0, 0, uintptr(unsafe.Pointer(&size)))); err != nil || size == 0 {
		return "", err
	}
	buf := make([]byte, size)
	err := clErr("clGetProgramBuildInfo", call(d.api.getProgramBuildInfo, prog, d.device, clProgramBuildLog, size, uintptr(unsafe.Pointer(&buf[0])), 0))
	return strings.TrimRight(string(buf), "\x00"), err
}

// Launch sets the arguments and queues the kernel over grid*block
// work-items in groups of block (or checks and records it, during a
// capture).
func (d *openCL) Launch(name string, grid, block Dim, args ...any) error {
	if d.capturing {
		if err := d.launch(name, grid, block, args, false); err != nil {
			return err
		}
		d.recorded = append(d.recorded, clLaunch{name, grid, block, slices.Clone(args)})
		return nil
	}
	return d.launch(name, grid, block, args, true)
}

// launch checks a launch and sets its arguments, then queues it if run.
func (d *openCL) launch(name string, grid, block Dim, args []any, run bool) error {
	if d.closed {
		return fmt.Errorf("opencl: launch %s: %w", name, errClosed)
	}
	g, b, empty, err := launchDims(name, grid, block)
	if err != nil {
		return fmt.Errorf("opencl: %w", err)
	}
	if b[0]*b[1]*b[2] > d.maxGroup {
		return fmt.Errorf("opencl: launch %s: block %v has %d work-items, the device allows %d", name, block, b[0]*b[1]*b[2], d.maxGroup)
	}
	kinds, err := argKinds(name, args)
	if err != nil {
		return fmt.Errorf("opencl: %w", err)
	}
	k, err := d.kernel(name)
	if err != nil {
		return err
	}
	if k.hasSig {
		if err := checkSignature(name, k.sig, kinds); err != nil {
			return fmt.Errorf("opencl: %w", err)
		}
	}
	if len(args) != k.nargs {
		return fmt.Errorf("opencl: launch %s: %d arguments, the kernel takes %d", name, len(args), k.nargs)
	}
	for i, a := range args {
		var st uintptr
		switch v := a.(type) {
		case Buffer:
			cb, err := d.buffer("launch "+name, v)
			if err != nil {
				return err
			}
			mem := cb.mem
			st = call(d.api.setKernelArg, k.handle, uintptr(i), unsafe.Sizeof(mem), uintptr(unsafe.Pointer(&mem)))
		case int32:
			st = call(d.api.setKernelArg, k.handle, uintptr(i), 4, uintptr(unsafe.Pointer(&v)))
		case float32:
			st = call(d.api.setKernelArg, k.handle, uintptr(i), 4, uintptr(unsafe.Pointer(&v)))
		}
		if err := clErr(fmt.Sprintf("clSetKernelArg(%s, %d)", name, i), st); err != nil {
			return err
		}
	}
	if empty || !run {
		return nil
	}
	global := [3]uintptr{uintptr(g[0] * b[0]), uintptr(g[1] * b[1]), uintptr(g[2] * b[2])}
	local := [3]uintptr{uintptr(b[0]), uintptr(b[1]), uintptr(b[2])}
	st := call(d.api.enqueueNDRangeKernel, d.queue, k.handle, 3, 0, uintptr(unsafe.Pointer(&global[0])), uintptr(unsafe.Pointer(&local[0])), 0, 0, 0)
	return clErr(fmt.Sprintf("clEnqueueNDRangeKernel(%s, grid %v, block %v)", name, grid, block), st)
}

// Finish waits for the queue (clFinish).
func (d *openCL) Finish() error {
	if d.closed {
		return fmt.Errorf("opencl: finish: %w", errClosed)
	}
	if d.capturing {
		return fmt.Errorf("opencl: finish during graph capture")
	}
	return clErr("clFinish", call(d.api.finish, d.queue))
}

// Close waits for the queue, then releases kernels, programs, buffers,
// the queue and the context. A second Close does nothing.
func (d *openCL) Close() error {
	if d.closed {
		return nil
	}
	if d.capturing {
		return fmt.Errorf("opencl: close during graph capture (call EndCapture first)")
	}
	err := clErr("clFinish", call(d.api.finish, d.queue))
	for _, k := range d.kernels {
		call(d.api.releaseKernel, k.handle)
	}
	for _, p := range d.programs {
		call(d.api.releaseProgram, p)
	}
	for b := range d.live {
		call(d.api.releaseMemObject, b.mem)
		b.mem = 0
	}
	call(d.api.releaseCommandQueue, d.queue)
	call(d.api.releaseContext, d.ctx)
	d.kernels, d.programs, d.live = nil, nil, nil
	d.closed = true
	return err
}

// clLaunch is one recorded launch.
type clLaunch struct {
	name        string
	grid, block Dim
	args        []any
}

// clGraph replays recorded launches in order. OpenCL 1.2 has no graphs;
// this keeps the backend's graph path one code path, tested on PoCL.
type clGraph struct {
	d        *openCL
	launches []clLaunch
	closed   bool
}

// BeginCapture starts recording launches (Graphs).
func (d *openCL) BeginCapture() error {
	if d.closed {
		return fmt.Errorf("opencl: BeginCapture: %w", errClosed)
	}
	if d.capturing {
		return fmt.Errorf("opencl: BeginCapture: already in a graph capture")
	}
	d.capturing, d.recorded = true, nil
	return nil
}

// EndCapture stops recording and returns the recorded launches as a Graph.
func (d *openCL) EndCapture() (Graph, error) {
	if !d.capturing {
		return nil, fmt.Errorf("opencl: EndCapture without BeginCapture")
	}
	g := &clGraph{d: d, launches: d.recorded}
	d.capturing, d.recorded = false, nil
	for _, b := range d.deferred {
		d.Free(b)
	}
	d.deferred = nil
	return g, nil
}

// Launch queues the recorded launches.
func (g *clGraph) Launch() error {
	if g.closed {
		return fmt.Errorf("opencl: launch of a closed graph")
	}
	if g.d.capturing {
		return fmt.Errorf("opencl: graph launch during graph capture")
	}
	for _, l := range g.launches {
		if err := g.d.launch(l.name, l.grid, l.block, l.args, true); err != nil {
			return fmt.Errorf("opencl: graph: %w", err)
		}
	}
	return nil
}

// Close drops the recording.
func (g *clGraph) Close() error {
	g.closed, g.launches = true, nil
	return nil
}
