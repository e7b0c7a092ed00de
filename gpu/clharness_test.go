package gpu

// A minimal OpenCL device.Device for this package's tests, used until the
// device layer's own OpenCL implementation (branch i29-gpudev) is merged.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/deepercluster/deepercluster/gpu/device"
)

type clAPI struct {
	getPlatformIDs func(n uint32, p *uintptr, num *uint32) int32
	getDeviceIDs   func(p uintptr, typ uint64, n uint32, d *uintptr, num *uint32) int32
	createContext  func(props uintptr, n uint32, d *uintptr, cb uintptr, ud uintptr, err *int32) uintptr
	createQueue    func(ctx uintptr, d uintptr, props uint64, err *int32) uintptr
	createProgram  func(ctx uintptr, n uint32, src **byte, lens *uintptr, err *int32) uintptr
	buildProgram   func(p uintptr, n uint32, d *uintptr, opts *byte, cb uintptr, ud uintptr) int32
	buildInfo      func(p uintptr, d uintptr, name uint32, size uintptr, val unsafe.Pointer, ret *uintptr) int32
	createKernel   func(p uintptr, name *byte, err *int32) uintptr
	setArg         func(k uintptr, i uint32, size uintptr, v unsafe.Pointer) int32
	enqueueND      func(q uintptr, k uintptr, dim uint32, off *uintptr, global *uintptr, local *uintptr, nev uint32, ev uintptr, out uintptr) int32
	createBuffer   func(ctx uintptr, flags uint64, size uintptr, host uintptr, err *int32) uintptr
	releaseMem     func(m uintptr) int32
	enqueueWrite   func(q uintptr, m uintptr, block uint32, off uintptr, size uintptr, p unsafe.Pointer, nev uint32, ev uintptr, out uintptr) int32
	enqueueRead    func(q uintptr, m uintptr, block uint32, off uintptr, size uintptr, p unsafe.Pointer, nev uint32, ev uintptr, out uintptr) int32
	finish         func(q uintptr) int32
}

var (
	clOnce sync.Once
	clLib  *clAPI
	clErr  error
)

func loadCL() (*clAPI, error) {
	clOnce.Do(func() {
		h, err := purego.Dlopen("libOpenCL.so.1", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			clErr = err
			return
		}
		a := &clAPI{}
		purego.RegisterLibFunc(&a.getPlatformIDs, h, "clGetPlatformIDs")
		purego.RegisterLibFunc(&a.getDeviceIDs, h, "clGetDeviceIDs")
		purego.RegisterLibFunc(&a.createContext, h, "clCreateContext")
		purego.RegisterLibFunc(&a.createQueue, h, "clCreateCommandQueue")
		purego.RegisterLibFunc(&a.createProgram, h, "clCreateProgramWithSource")
		purego.RegisterLibFunc(&a.buildProgram, h, "clBuildProgram")
		purego.RegisterLibFunc(&a.buildInfo, h, "clGetProgramBuildInfo")
		purego.RegisterLibFunc(&a.createKernel, h, "clCreateKernel")
		purego.RegisterLibFunc(&a.setArg, h, "clSetKernelArg")
		purego.RegisterLibFunc(&a.enqueueND, h, "clEnqueueNDRangeKernel")
		purego.RegisterLibFunc(&a.createBuffer, h, "clCreateBuffer")
		purego.RegisterLibFunc(&a.releaseMem, h, "clReleaseMemObject")
		purego.RegisterLibFunc(&a.enqueueWrite, h, "clEnqueueWriteBuffer")
		purego.RegisterLibFunc(&a.enqueueRead, h, "clEnqueueReadBuffer")
		purego.RegisterLibFunc(&a.finish, h, "clFinish")
		clLib = a
	})
	return clLib, clErr
}

type clBuf struct {
	mem uintptr
	n   int
}

func (b *clBuf) Bytes() int { return b.n }

type clDevice struct {
	a       *clAPI
	dev     uintptr
	ctx     uintptr
	q       uintptr
	prog    uintptr
	kernels map[string]uintptr
}

func cstr(s string) *byte { b := append([]byte(s), 0); return &b[0] }

func newCLDevice() (*clDevice, error) {
	a, err := loadCL()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", device.ErrUnavailable, err)
	}
	var plat uintptr
	var n uint32
	if rc := a.getPlatformIDs(1, &plat, &n); rc != 0 || n == 0 {
		return nil, fmt.Errorf("%w: no OpenCL platform (%d)", device.ErrUnavailable, rc)
	}
	d := &clDevice{a: a, kernels: map[string]uintptr{}}
	if rc := a.getDeviceIDs(plat, 0xFFFFFFFF, 1, &d.dev, &n); rc != 0 || n == 0 {
		return nil, fmt.Errorf("%w: no OpenCL device (%d)", device.ErrUnavailable, rc)
	}
	var e int32
	d.ctx = a.createContext(0, 1, &d.dev, 0, 0, &e)
	if e != 0 {
		return nil, fmt.Errorf("clCreateContext: %d", e)
	}
	d.q = a.createQueue(d.ctx, d.dev, 0, &e)
	if e != 0 {
		return nil, fmt.Errorf("clCreateCommandQueue: %d", e)
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "kernels")
	files, _ := filepath.Glob(filepath.Join(dir, "*.c"))
	sort.Strings(files)
	var src strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		src.Write(b)
		src.WriteString("\n")
	}
	s := src.String()
	p := cstr(s)
	l := uintptr(len(s))
	d.prog = a.createProgram(d.ctx, 1, &p, &l, &e)
	if e != 0 {
		return nil, fmt.Errorf("clCreateProgramWithSource: %d", e)
	}
	if rc := a.buildProgram(d.prog, 1, &d.dev, cstr("-cl-std=CL1.2 -I "+dir), 0, 0); rc != 0 {
		buf := make([]byte, 1<<16)
		var got uintptr
		a.buildInfo(d.prog, d.dev, 0x1183, uintptr(len(buf)), unsafe.Pointer(&buf[0]), &got)
		return nil, fmt.Errorf("clBuildProgram %d: %s", rc, buf[:got])
	}
	return d, nil
}

func (d *clDevice) Kind() string       { return "opencl" }
func (d *clDevice) Name() string       { return "pocl-harness" }
func (d *clDevice) MemoryBytes() int64 { return 1 << 30 }
func (d *clDevice) Alloc(n int) (device.Buffer, error) {
	var e int32
	m := d.a.createBuffer(d.ctx, 1, uintptr(max(n, 4)), 0, &e)
	if e != 0 {
		return nil, fmt.Errorf("clCreateBuffer %d bytes: %d", n, e)
	}
	return &clBuf{mem: m, n: n}, nil
}
func (d *clDevice) Free(b device.Buffer) {
	if b != nil {
		d.a.releaseMem(b.(*clBuf).mem)
	}
}
func (d *clDevice) write(dst device.Buffer, off int, p unsafe.Pointer, n int) error {
	b := dst.(*clBuf)
	if off < 0 || (off+n)*4 > b.n {
		return fmt.Errorf("write of %d at %d into %d bytes", n, off, b.n)
	}
	if n == 0 {
		return nil
	}
	if rc := d.a.enqueueWrite(d.q, b.mem, 1, uintptr(off*4), uintptr(n*4), p, 0, 0, 0); rc != 0 {
		return fmt.Errorf("clEnqueueWriteBuffer: %d", rc)
	}
	return nil
}
func (d *clDevice) read(src device.Buffer, off int, p unsafe.Pointer, n int) error {
	b := src.(*clBuf)
	if off < 0 || (off+n)*4 > b.n {
		return fmt.Errorf("read of %d at %d from %d bytes", n, off, b.n)
	}
	if n == 0 {
		return nil
	}
	if rc := d.a.enqueueRead(d.q, b.mem, 1, uintptr(off*4), uintptr(n*4), p, 0, 0, 0); rc != 0 {
		return fmt.Errorf("clEnqueueReadBuffer: %d", rc)
	}
	return nil
}
func (d *clDevice) WriteF32(dst device.Buffer, off int, s []float32) error {
	if len(s) == 0 {
		return nil
	}
	return d.write(dst, off, unsafe.Pointer(&s[0]), len(s))
}
func (d *clDevice) ReadF32(src device.Buffer, off int, s []float32) error {
	if len(s) == 0 {
		return nil
	}
	return d.read(src, off, unsafe.Pointer(&s[0]), len(s))
}
func (d *clDevice) WriteI32(dst device.Buffer, off int, s []int32) error {
	if len(s) == 0 {
		return nil
	}
	return d.write(dst, off, unsafe.Pointer(&s[0]), len(s))
}
func (d *clDevice) ReadI32(src device.Buffer, off int, s []int32) error {
	if len(s) == 0 {
		return nil
	}
	return d.read(src, off, unsafe.Pointer(&s[0]), len(s))
}
func (d *clDevice) Launch(name string, grid, block device.Dim, args ...any) error {
	k, ok := d.kernels[name]
	if !ok {
		var e int32
		k = d.a.createKernel(d.prog, cstr(name), &e)
		if e != 0 {
			return fmt.Errorf("clCreateKernel %s: %d", name, e)
		}
		d.kernels[name] = k
	}
	for i, a := range args {
		var rc int32
		switch v := a.(type) {
		case device.Buffer:
			m := v.(*clBuf).mem
			rc = d.a.setArg(k, uint32(i), 8, unsafe.Pointer(&m))
		case int32:
			rc = d.a.setArg(k, uint32(i), 4, unsafe.Pointer(&v))
		case float32:
			rc = d.a.setArg(k, uint32(i), 4, unsafe.Pointer(&v))
		default:
			return fmt.Errorf("%s: argument %d of type %T", name, i, a)
		}
		if rc != 0 {
			return fmt.Errorf("%s: clSetKernelArg %d: %d", name, i, rc)
		}
	}
	var g, l [3]uintptr
	for i := range 3 {
		gi, bi := max(grid[i], 1), max(block[i], 1)
		g[i], l[i] = uintptr(gi*bi), uintptr(bi)
	}
	if rc := d.a.enqueueND(d.q, k, 3, nil, &g[0], &l[0], 0, 0, 0); rc != 0 {
		return fmt.Errorf("%s: clEnqueueNDRangeKernel grid %v block %v: %d", name, grid, block, rc)
	}
	return nil
}
func (d *clDevice) Finish() error {
	if rc := d.a.finish(d.q); rc != 0 {
		return fmt.Errorf("clFinish: %d", rc)
	}
	return nil
}
func (d *clDevice) Close() error { return nil }

var errNoCL = errors.New("no OpenCL")

// openTestDevice returns the OpenCL device of the tests.
func openTestDevice(t testing.TB) device.Device {
	t.Helper()
	d, err := newCLDevice()
	if err != nil {
		t.Fatalf("opencl: %v", err)
	}
	return d
}
