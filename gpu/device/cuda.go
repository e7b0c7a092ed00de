package device

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/deepercluster/deepercluster/gpu/kernels"
)

// CUDADeviceEnv selects the CUDA device by ordinal (default 0).
const CUDADeviceEnv = "DEEPERCLUSTER_CUDA_DEVICE"

// CUDALibraryEnv, when set, is the path of the driver library to use
// instead of searching for libcuda.so.1.
const CUDALibraryEnv = "DEEPERCLUSTER_LIBCUDA"

var cudaSearch = libSearch{
	soname: "libcuda.so.1",
	env:    CUDALibraryEnv,
	extra: []string{
		"/usr/lib/x86_64-linux-gnu/libcuda.so.1",
		"/usr/lib/aarch64-linux-gnu/libcuda.so.1",
		"/usr/lib64/libcuda.so.1",
		"/usr/local/nvidia/lib64/libcuda.so.1",
		"/usr/lib/wsl/lib/libcuda.so.1",
		"/usr/local/cuda/compat/libcuda.so.1",
	},
}

// CUDA driver API constants (cuda.h).
const (
	cuSuccess               = 0
	cuErrorNoDevice         = 100
	cuStreamNonBlocking     = 1
	cuCaptureModeRelaxed    = 2
	cuAttrMaxThreadsPerBlk  = 1
	cuJitInfoLogBuffer      = 3
	cuJitInfoLogBufferSize  = 4
	cuJitErrorLogBuffer     = 5
	cuJitErrorLogBufferSize = 6
	cuJitLogVerbose         = 12
	jitLogBytes             = 16 << 10
)

// cuAPI holds the entry points of one loaded libcuda.so.1.
type cuAPI struct {
	init, deviceGetCount, deviceGet, deviceGetName, deviceTotalMem, deviceGetAttribute uintptr
	primaryCtxRetain, primaryCtxRelease, ctxSetCurrent                                 uintptr
	streamCreate, streamDestroy, streamSynchronize                                     uintptr
	moduleLoadDataEx, moduleGetFunction, moduleUnload                                  uintptr
	memAlloc, memFree, memcpyHtoDAsync, memcpyDtoHAsync, launchKernel                  uintptr
	getErrorName, getErrorString                                                       uintptr
	streamBeginCapture, streamEndCapture, graphInstantiate, graphLaunch                uintptr
	graphDestroy, graphExecDestroy                                                     uintptr
}

func (a *cuAPI) load(lib uintptr) error {
	return symbols(lib, cudaSearch.soname, map[string]*uintptr{
		"cuInit": &a.init, "cuDeviceGetCount": &a.deviceGetCount, "cuDeviceGet": &a.deviceGet,
		"cuDeviceGetName": &a.deviceGetName, "cuDeviceTotalMem_v2": &a.deviceTotalMem,
		"cuDeviceGetAttribute":     &a.deviceGetAttribute,
		"cuDevicePrimaryCtxRetain": &a.primaryCtxRetain, "cuDevicePrimaryCtxRelease_v2": &a.primaryCtxRelease,
		"cuCtxSetCurrent": &a.ctxSetCurrent,
		"cuStreamCreate":  &a.streamCreate, "cuStreamDestroy_v2": &a.streamDestroy,
		"cuStreamSynchronize": &a.streamSynchronize,
		"cuModuleLoadDataEx":  &a.moduleLoadDataEx, "cuModuleGetFunction": &a.moduleGetFunction,
		"cuModuleUnload": &a.moduleUnload,
		"cuMemAlloc_v2":  &a.memAlloc, "cuMemFree_v2": &a.memFree,
		"cuMemcpyHtoDAsync_v2": &a.memcpyHtoDAsync, "cuMemcpyDtoHAsync_v2": &a.memcpyDtoHAsync,
		"cuLaunchKernel": &a.launchKernel,
		"cuGetErrorName": &a.getErrorName, "cuGetErrorString": &a.getErrorString,
		"cuStreamBeginCapture_v2": &a.streamBeginCapture, "cuStreamEndCapture": &a.streamEndCapture,
		"cuGraphInstantiateWithFlags": &a.graphInstantiate, "cuGraphLaunch": &a.graphLaunch,
		"cuGraphDestroy": &a.graphDestroy, "cuGraphExecDestroy": &a.graphExecDestroy,
	})
}

// cuErr turns a CUresult into an error naming the call, with the
// driver's name and description of the code.
func (a *cuAPI) cuErr(op string, res uintptr) error {
	code := uint32(res)
	if code == cuSuccess {
		return nil
	}
	var name, desc *byte
	call(a.getErrorName, uintptr(code), uintptr(unsafe.Pointer(&name)))
	call(a.getErrorString, uintptr(code), uintptr(unsafe.Pointer(&desc)))
	n := goString(name)
	if n == "" {
		n = "CUDA error"
	}
	if d := goString(desc); d != "" {
		n += ": " + d
	}
	return fmt.Errorf("cuda: %s: %s (%d)", op, n, code)
}

// cuBuffer is a CUdeviceptr of one cuda device.
type cuBuffer struct {
	ptr   uint64
	n     int
	owner *cuda
}

// Bytes is the size asked for at Alloc.
func (b *cuBuffer) Bytes() int { return b.n }

type cuFunc struct {
	handle uintptr
	sig    []kernels.Param
}

// cuda is a Device over one CUDA GPU: its primary context, one stream,
// and the modules loaded so far (one per kernel source, loaded from the
// embedded PTX at the first launch of one of its kernels). A CUDA context
// is current per OS thread, so one goroutine locked to its thread makes
// every driver call; the methods hand their work to it and wait.
type cuda struct {
	api       cuAPI
	lib       *kernels.Library
	work      chan func()
	ordinal   int
	dev       int32
	ctx       uintptr
	stream    uintptr
	name      string
	memBytes  int64
	maxBlock  int
	modules   map[string]uintptr
	funcs     map[string]cuFunc
	live      map[*cuBuffer]struct{}
	capturing bool
	deferred  []*cuBuffer // frees asked for during a capture
	closed    bool
}

// OpenCUDA opens the CUDA GPU numbered DEEPERCLUSTER_CUDA_DEVICE (default
// 0) with the embedded kernels. Without libcuda.so.1, or when the driver
// finds no GPU, the error wraps ErrUnavailable and says what is missing.
func OpenCUDA() (Device, error) {
	lib, err := kernels.Embedded()
	if err != nil {
		return nil, err
	}
	ordinal := 0
	if s := os.Getenv(CUDADeviceEnv); s != "" {
		if ordinal, err = strconv.Atoi(s); err != nil || ordinal < 0 {
			return nil, fmt.Errorf("cuda: %s=%q is not a device number", CUDADeviceEnv, s)
		}
	}
	return OpenCUDAWith(lib, ordinal)
}

// OpenCUDAWith opens CUDA device ordinal with the kernels of lib.
func OpenCUDAWith(lib *kernels.Library, ordinal int) (Device, error) {
	h, path, err := cudaSearch.open()
	if err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	d := &cuda{lib: lib, ordinal: ordinal, work: make(chan func()),
		modules: map[string]uintptr{}, funcs: map[string]cuFunc{}, live: map[*cuBuffer]struct{}{}}
	if err := d.api.load(h); err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	ready := make(chan error, 1)
	go d.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	slog.Info("cuda device opened", "library", path, "ordinal", ordinal, "device", d.name, "memory_bytes", d.memBytes)
	return d, nil
}

// loop is the context's goroutine: it locks its OS thread, makes the
// context current on it, then runs the methods' work until Close.
func (d *cuda) loop(ready chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := d.setup(); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for f := range d.work {
		f()
	}
}

func (d *cuda) setup() error {
	a := &d.api
	if res := uint32(call(a.init, 0)); res != cuSuccess {
		err := a.cuErr("cuInit", uintptr(res))
		return fmt.Errorf("%w (driver found but not usable: no GPU, or driver and library mismatch): %w", err, ErrUnavailable)
	}
	var count int32
	if err := a.cuErr("cuDeviceGetCount", call(a.deviceGetCount, uintptr(unsafe.Pointer(&count)))); err != nil {
		return err
	}
	if count == 0 {
		return fmt.Errorf("cuda: no CUDA device (libcuda.so.1 loaded, cuDeviceGetCount = 0): %w", ErrUnavailable)
	}
	if d.ordinal >= int(count) {
		return fmt.Errorf("cuda: device %d asked for, the driver has %d: %w", d.ordinal, count, ErrUnavailable)
	}
	if err := a.cuErr("cuDeviceGet", call(a.deviceGet, uintptr(unsafe.Pointer(&d.dev)), uintptr(d.ordinal))); err != nil {
		return err
	}
	name := make([]byte, 256)
	if err := a.cuErr("cuDeviceGetName", call(a.deviceGetName, uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)), uintptr(d.dev))); err != nil {
		return err
	}
	d.name = strings.TrimRight(string(name[:max(0, strings.IndexByte(string(name), 0))]), " ")
	var mem uintptr
	if err := a.cuErr("cuDeviceTotalMem_v2", call(a.deviceTotalMem, uintptr(unsafe.Pointer(&mem)), uintptr(d.dev))); err != nil {
		return err
	}
	d.memBytes = int64(mem)
	var maxThreads int32
	if err := a.cuErr("cuDeviceGetAttribute(MAX_THREADS_PER_BLOCK)", call(a.deviceGetAttribute, uintptr(unsafe.Pointer(&maxThreads)), cuAttrMaxThreadsPerBlk, uintptr(d.dev))); err != nil {
		return err
	}
	d.maxBlock = int(maxThreads)
	if err := a.cuErr("cuDevicePrimaryCtxRetain", call(a.primaryCtxRetain, uintptr(unsafe.Pointer(&d.ctx)), uintptr(d.dev))); err != nil {
		return err
	}
	if err := a.cuErr("cuCtxSetCurrent", call(a.ctxSetCurrent, d.ctx)); err != nil {
		call(a.primaryCtxRelease, uintptr(d.dev))
		return err
	}
	if err := a.cuErr("cuStreamCreate", call(a.streamCreate, uintptr(unsafe.Pointer(&d.stream)), cuStreamNonBlocking)); err != nil {
		call(a.primaryCtxRelease, uintptr(d.dev))
		return err
	}
	return nil
}

// do runs f on the context's goroutine and returns its error.
func (d *cuda) do(f func() error) error {
	if d.closed {
		return fmt.Errorf("cuda: %w", errClosed)
	}
	errc := make(chan error, 1)
	d.work <- func() { errc <- f() }
	return <-errc
}

// Kind is "cuda".
func (d *cuda) Kind() string { return "cuda" }

// Name is the GPU's name (cuDeviceGetName).
func (d *cuda) Name() string { return d.name }

// MemoryBytes is the GPU's memory (cuDeviceTotalMem).
func (d *cuda) MemoryBytes() int64 { return d.memBytes }

// Alloc allocates n bytes (at least 4 on the device, so that an empty
// buffer is still a valid pointer; Bytes reports n).
func (d *cuda) Alloc(n int) (Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cuda: alloc of %d bytes", n)
	}
	if d.capturing {
		return nil, errors.New("cuda: alloc during graph capture")
	}
	b := &cuBuffer{n: n, owner: d}
	err := d.do(func() error {
		return d.api.cuErr(fmt.Sprintf("cuMemAlloc_v2(%d bytes)", n), call(d.api.memAlloc, uintptr(unsafe.Pointer(&b.ptr)), uintptr(max(n, 4))))
	})
	if err != nil {
		return nil, err
	}
	d.live[b] = struct{}{}
	return b, nil
}

// Free releases b (after a capture, if one is under way); nil, a freed
// buffer or another device's buffer is ignored.
func (d *cuda) Free(b Buffer) {
	cb, ok := b.(*cuBuffer)
	if !ok || cb == nil || cb.owner != d || cb.ptr == 0 || d.closed {
		return
	}
	if d.capturing {
		d.deferred = append(d.deferred, cb)
		return
	}
	if err := d.do(func() error { return d.api.cuErr("cuMemFree_v2", call(d.api.memFree, uintptr(cb.ptr))) }); err != nil {
		slog.Warn("cuda: free", "err", err)
	}
	cb.ptr = 0
	delete(d.live, cb)
}

func (d *cuda) buffer(op string, b Buffer) (*cuBuffer, error) {
	if d.closed {
		return nil, fmt.Errorf("cuda: %s: %w", op, errClosed)
	}
	cb, ok := b.(*cuBuffer)
	if !ok || cb == nil || cb.owner != d {
		return nil, fmt.Errorf("cuda: %s: buffer %T is not from this device", op, b)
	}
	if cb.ptr == 0 {
		return nil, fmt.Errorf("cuda: %s: buffer was freed", op)
	}
	return cb, nil
}

// copy moves n 4-byte elements between host p and b at element off on
// the stream; reads wait for the stream, so the data is there on return.
// Host memory is pageable Go memory, pinned for the call: the driver
// stages it, so a write may return before the device has the data but
// after src may be reused.
func (d *cuda) copy(op string, toDevice bool, b Buffer, off, n int, p unsafe.Pointer) error {
	cb, err := d.buffer(op, b)
	if err != nil {
		return err
	}
	if d.capturing {
		return fmt.Errorf("cuda: %s during graph capture", op)
	}
	byteOff, byteLen, err := span("cuda: "+op, cb.n, off, n)
	if err != nil || n == 0 {
		return err
	}
	return d.do(func() error {
		var pin runtime.Pinner
		pin.Pin(p)
		defer pin.Unpin()
		dptr := uintptr(cb.ptr) + uintptr(byteOff)
		if toDevice {
			return d.api.cuErr("cuMemcpyHtoDAsync_v2", call(d.api.memcpyHtoDAsync, dptr, uintptr(p), uintptr(byteLen), d.stream))
		}
		if err := d.api.cuErr("cuMemcpyDtoHAsync_v2", call(d.api.memcpyDtoHAsync, uintptr(p), dptr, uintptr(byteLen), d.stream)); err != nil {
			return err
		}
		return d.api.cuErr("cuStreamSynchronize (after a read)", call(d.api.streamSynchronize, d.stream))
	})
}

// WriteF32 copies src into dst at element off.
func (d *cuda) WriteF32(dst Buffer, off int, src []float32) error {
	defer runtime.KeepAlive(src)
	return d.copy("write", true, dst, off, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// ReadF32 copies from src at element off into dst, waiting for the data.
func (d *cuda) ReadF32(src Buffer, off int, dst []float32) error {
	defer runtime.KeepAlive(dst)
	return d.copy("read", false, src, off, len(dst), unsafe.Pointer(unsafe.SliceData(dst)))
}

// WriteI32 is WriteF32 for int32 elements.
func (d *cuda) WriteI32(dst Buffer, off int, src []int32) error {
	defer runtime.KeepAlive(src)
	return d.copy("write", true, dst, off, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// ReadI32 is ReadF32 for int32 elements.
func (d *cuda) ReadI32(src Buffer, off int, dst []int32) error {
	defer runtime.KeepAlive(dst)
	return d.copy("read", false, src, off, len(dst), unsafe.Pointer(unsafe.SliceData(dst)))
}

// function returns the kernel's CUfunction, loading its source's PTX
// module the first time (on the context's goroutine).
func (d *cuda) function(name string) (cuFunc, error) {
	if f, ok := d.funcs[name]; ok {
		return f, nil
	}
	src, ok := d.lib.Lookup(name)
	if !ok {
		return cuFunc{}, fmt.Errorf("cuda: launch %s: no such kernel in gpu/kernels", name)
	}
	ptx, err := d.lib.PTX(src.Name)
	if err != nil {
		return cuFunc{}, fmt.Errorf("cuda: launch %s: %w", name, err)
	}
	entries, err := kernels.Entries(ptx)
	if err != nil {
		return cuFunc{}, fmt.Errorf("cuda: %w", err)
	}
	sig, ok := entries[name]
	if !ok {
		return cuFunc{}, fmt.Errorf("cuda: launch %s: not an entry of ptx/%s.ptx (run make ptx)", name, src.Name)
	}
	mod, ok := d.modules[src.Name]
	if !ok {
		if err := d.do(func() error {
			var err error
			mod, err = d.loadModule(src.Name, ptx)
			return err
		}); err != nil {
			return cuFunc{}, err
		}
		d.modules[src.Name] = mod
	}
	f := cuFunc{sig: sig}
	cname := cString(name)
	if err := d.do(func() error {
		return d.api.cuErr("cuModuleGetFunction("+name+")", call(d.api.moduleGetFunction, uintptr(unsafe.Pointer(&f.handle)), mod, uintptr(unsafe.Pointer(&cname[0]))))
	}); err != nil {
		return cuFunc{}, err
	}
	d.funcs[name] = f
	return f, nil
}

// loadModule JIT-compiles PTX with cuModuleLoadDataEx; on failure the
// error carries the JIT's error and info logs.
func (d *cuda) loadModule(name, ptx string) (uintptr, error) {
	image := cString(ptx)
	infoLog := make([]byte, jitLogBytes)
	errLog := make([]byte, jitLogBytes)
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&image[0])
	pin.Pin(&infoLog[0])
	pin.Pin(&errLog[0])
	opts := []uint32{cuJitInfoLogBuffer, cuJitInfoLogBufferSize, cuJitErrorLogBuffer, cuJitErrorLogBufferSize, cuJitLogVerbose}
	// The values are void*: pointers for the buffers, the sizes and the
	// flag as integers; the driver writes the logs' lengths back.
	vals := []uintptr{uintptr(unsafe.Pointer(&infoLog[0])), jitLogBytes,
		uintptr(unsafe.Pointer(&errLog[0])), jitLogBytes, 1}
	pin.Pin(&opts[0])
	pin.Pin(&vals[0])
	var mod uintptr
	res := call(d.api.moduleLoadDataEx, uintptr(unsafe.Pointer(&mod)), uintptr(unsafe.Pointer(&image[0])),
		uintptr(len(opts)), uintptr(unsafe.Pointer(&opts[0])), uintptr(unsafe.Pointer(&vals[0])))
	runtime.KeepAlive(image)
	runtime.KeepAlive(infoLog)
	runtime.KeepAlive(errLog)
	if err := d.api.cuErr("cuModuleLoadDataEx(ptx/"+name+".ptx)", res); err != nil {
		return 0, fmt.Errorf("%w; JIT error log: %s; info log: %s", err, cLog(errLog), cLog(infoLog))
	}
	if l := cLog(infoLog); l != "" {
		slog.Debug("cuda: JIT", "module", name, "log", l)
	}
	return mod, nil
}

func cLog(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// packParams lays the launch arguments out for cuLaunchKernel: one 8-byte
// slot per argument holding its value (a CUdeviceptr, or an int32 or
// float32 in the slot's first bytes), and the void** array pointing at
// the slots. The caller keeps both alive across the call.
func packParams(args []any) (slots []uint64, params []unsafe.Pointer) {
	slots = make([]uint64, len(args))
	params = make([]unsafe.Pointer, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case *cuBuffer:
			slots[i] = v.ptr
		case int32:
			*(*int32)(unsafe.Pointer(&slots[i])) = v
		case float32:
			*(*float32)(unsafe.Pointer(&slots[i])) = v
		}
		params[i] = unsafe.Pointer(&slots[i])
	}
	return slots, params
}

// Launch queues the kernel on the stream (or records it, during a
// capture).
func (d *cuda) Launch(name string, grid, block Dim, args ...any) error {
	if d.closed {
		return fmt.Errorf("cuda: launch %s: %w", name, errClosed)
	}
	g, b, empty, err := launchDims(name, grid, block)
	if err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	if b[0]*b[1]*b[2] > d.maxBlock {
		return fmt.Errorf("cuda: launch %s: block %v has %d threads, the device allows %d", name, block, b[0]*b[1]*b[2], d.maxBlock)
	}
	kinds, err := argKinds(name, args)
	if err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	f, err := d.function(name)
	if err != nil {
		return err
	}
	if err := checkSignature(name, f.sig, kinds); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	for _, a := range args {
		if buf, ok := a.(Buffer); ok {
			if _, err := d.buffer("launch "+name, buf); err != nil {
				return err
			}
		}
	}
	if empty {
		return nil
	}
	return d.do(func() error {
		slots, params := packParams(args)
		var pin runtime.Pinner
		defer pin.Unpin()
		var pp uintptr
		if len(params) > 0 {
			pin.Pin(&slots[0])
			pin.Pin(&params[0])
			pp = uintptr(unsafe.Pointer(&params[0]))
		}
		res := call(d.api.launchKernel, f.handle, uintptr(g[0]), uintptr(g[1]), uintptr(g[2]),
			uintptr(b[0]), uintptr(b[1]), uintptr(b[2]), 0, d.stream, pp, 0)
		runtime.KeepAlive(slots)
		runtime.KeepAlive(params)
		return d.api.cuErr(fmt.Sprintf("cuLaunchKernel(%s, grid %v, block %v)", name, grid, block), res)
	})
}

// Finish waits for the stream; an error from any kernel queued since the
// last Finish shows here.
func (d *cuda) Finish() error {
	if d.capturing {
		return errors.New("cuda: finish during graph capture")
	}
	return d.do(func() error { return d.api.cuErr("cuStreamSynchronize", call(d.api.streamSynchronize, d.stream)) })
}

// Close waits for the stream, frees every buffer, unloads the modules,
// destroys the stream, releases the primary context and ends the
// context's goroutine. A second Close does nothing.
func (d *cuda) Close() error {
	if d.closed {
		return nil
	}
	if d.capturing {
		return errors.New("cuda: close during graph capture (call EndCapture first)")
	}
	a := &d.api
	err := d.do(func() error {
		first := a.cuErr("cuStreamSynchronize", call(a.streamSynchronize, d.stream))
		for b := range d.live {
			call(a.memFree, uintptr(b.ptr))
			b.ptr = 0
		}
		for _, m := range d.modules {
			call(a.moduleUnload, m)
		}
		call(a.streamDestroy, d.stream)
		call(a.primaryCtxRelease, uintptr(d.dev))
		return first
	})
	close(d.work)
	d.closed = true
	d.live, d.modules, d.funcs = nil, nil, nil
	return err
}

// cuGraph is an instantiated CUDA graph.
type cuGraph struct {
	d      *cuda
	exec   uintptr
	closed bool
}

// BeginCapture loads every kernel module not loaded yet (a module load
// is no stream work and must not happen inside a capture), then starts
// capturing the stream. The capture mode is relaxed: the device itself
// refuses copies, Alloc and Finish while capturing, which are the calls
// the driver's stricter modes exist to catch.
func (d *cuda) BeginCapture() error {
	if d.closed {
		return fmt.Errorf("cuda: BeginCapture: %w", errClosed)
	}
	if d.capturing {
		return errors.New("cuda: BeginCapture: already in a graph capture")
	}
	for _, src := range d.lib.Sources() {
		if len(src.Kernels) == 0 {
			continue
		}
		if _, err := d.function(src.Kernels[0]); err != nil {
			return fmt.Errorf("cuda: BeginCapture: loading %s%s: %w", src.Name, kernels.Ext, err)
		}
	}
	if err := d.do(func() error {
		return d.api.cuErr("cuStreamBeginCapture_v2", call(d.api.streamBeginCapture, d.stream, cuCaptureModeRelaxed))
	}); err != nil {
		return err
	}
	d.capturing = true
	return nil
}

// EndCapture ends the capture and instantiates the graph.
func (d *cuda) EndCapture() (Graph, error) {
	if !d.capturing {
		return nil, errors.New("cuda: EndCapture without BeginCapture")
	}
	g := &cuGraph{d: d}
	err := d.do(func() error {
		var graph uintptr
		if err := d.api.cuErr("cuStreamEndCapture", call(d.api.streamEndCapture, d.stream, uintptr(unsafe.Pointer(&graph)))); err != nil {
			return err
		}
		defer call(d.api.graphDestroy, graph)
		return d.api.cuErr("cuGraphInstantiateWithFlags", call(d.api.graphInstantiate, uintptr(unsafe.Pointer(&g.exec)), graph, 0))
	})
	d.capturing = false
	for _, b := range d.deferred {
		d.Free(b)
	}
	d.deferred = nil
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Launch queues the graph on the device's stream.
func (g *cuGraph) Launch() error {
	if g.closed {
		return errors.New("cuda: launch of a closed graph")
	}
	if g.d.capturing {
		return errors.New("cuda: graph launch during graph capture")
	}
	return g.d.do(func() error { return g.d.api.cuErr("cuGraphLaunch", call(g.d.api.graphLaunch, g.exec, g.d.stream)) })
}

// Close destroys the executable graph.
func (g *cuGraph) Close() error {
	if g.closed || g.d.closed {
		g.closed = true
		return nil
	}
	g.closed = true
	return g.d.do(func() error { return g.d.api.cuErr("cuGraphExecDestroy", call(g.d.api.graphExecDestroy, g.exec)) })
}
