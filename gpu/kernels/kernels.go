// Package kernels holds the GPU kernels, written once in the C subset of
// compat.h, and serves them to the device layer: as OpenCL C source (built
// by the driver, e.g. PoCL in CI) and as PTX for CUDA, generated from the
// same files with Debian's clang-19 by `make ptx` and committed, because the
// machines that have a GPU have no Go, no clang and no network.
//
// Layout: compat.h, one kernel source per file NAME.cl (the extension is
// .cl, not .c: the go tool refuses .c files in a package that does not use
// cgo; the files are not OpenCL-only, compat.h makes them both), shared
// headers NAME.h (DEVICE helpers, constants) that sources may #include
// "NAME.h", and ptx/NAME.ptx for each source. All of it is embedded.
// The OpenCL build has no file system, so the loader splices the headers
// in (each at most once per source: headers are include-once), keeping
// file names and line numbers with #line.
//
// Kernel names are global across files: a kernel is found by its name
// alone (KERNEL name(...) at the start of a line), and two files may not
// define the same name. Compile-time constants come from "dc:define" lines
// in a source, e.g.
//
//	// dc:define TILE=16 WPT=4
//
// which become -DTILE=16 -DWPT=4 for both clang (the PTX) and
// clBuildProgram, so both targets are specialised alike. Each file is
// compiled once, with one set of defines; and since the OpenCL build
// splices in compat.h only, a file cannot #include another kernel file:
// two specialisations of one kernel body are, for now, two files with
// their own kernel names.
//
// Adding a kernel: write it in a NAME.cl that starts with
// #include "compat.h", with a name no other file uses; run `make ptx` and
// commit ptx/NAME.ptx with it (TestPTXUpToDate fails otherwise); the
// device layer finds it by name: dev.Launch("name", grid, block, args...).
// Kernel parameters are GLOBAL pointers, int and float only (Buffer,
// int32, float32 on the Go side), checked against the PTX at each launch.
package kernels

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Ext is the extension of kernel source files.
const Ext = ".cl"

// CompatHeader is the name of the macro header that every source includes.
const CompatHeader = "compat.h"

// GPUArch is the CUDA architecture the committed PTX targets; the driver
// JIT-compiles PTX for any newer GPU (H100 is sm_90).
const GPUArch = "sm_80"

//go:embed *.h *.cl ptx/*.ptx
var embedded embed.FS

// Source is one kernel file.
type Source struct {
	// Name is the file name without Ext; the PTX is ptx/Name.ptx.
	Name string
	// Text is the file's contents.
	Text string
	// Defines are the NAME=VALUE pairs of its dc:define lines, in order.
	Defines []string
	// Kernels are the names of its kernels, in order, with those of the
	// headers it includes.
	Kernels []string

	// expanded is Text with its headers spliced in (OpenCLSource).
	expanded string
}

// Library is a parsed set of kernel sources with their PTX, indexed by
// kernel name. It is immutable once loaded, so devices may share one.
type Library struct {
	headers  map[string]string
	sources  []Source
	byKernel map[string]int
	ptx      map[string]string
}

var (
	kernelRE = regexp.MustCompile(`(?m)^[ \t]*KERNEL[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\(`)
	defineRE = regexp.MustCompile(`(?m)^[ \t]*//[ \t]*dc:define[ \t]+(.*)$`)
	macroRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(=[^\s"'\\]*)?$`)
	// includeRE matches a quoted #include line.
	includeRE = regexp.MustCompile(`^[ \t]*#[ \t]*include[ \t]+"([^"]+)"[ \t]*$`)
)

// Embedded returns the library compiled into the binary.
func Embedded() (*Library, error) { return Load(embedded) }

// Load reads every *.h, *.cl and ptx/*.ptx at the root of fsys. It fails
// on a duplicate kernel name, a malformed dc:define, a source that does
// not include compat.h or includes a file that is not one of the headers,
// so that a mistake shows when the device opens, not at the first launch.
// Missing PTX is not an error here (OpenCL does not need it); PTX reports
// it.
func Load(fsys fs.FS) (*Library, error) {
	l := &Library{headers: map[string]string{}, byKernel: map[string]int{}, ptx: map[string]string{}}
	hnames, err := fs.Glob(fsys, "*.h")
	if err != nil {
		return nil, fmt.Errorf("kernels: %w", err)
	}
	for _, h := range hnames {
		text, err := fs.ReadFile(fsys, h)
		if err != nil {
			return nil, fmt.Errorf("kernels: %w", err)
		}
		l.headers[h] = string(text)
	}
	if _, ok := l.headers[CompatHeader]; !ok {
		return nil, fmt.Errorf("kernels: no %s", CompatHeader)
	}
	names, err := fs.Glob(fsys, "*"+Ext)
	if err != nil {
		return nil, fmt.Errorf("kernels: %w", err)
	}
	for _, file := range names {
		text, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("kernels: %w", err)
		}
		s, err := l.parseSource(strings.TrimSuffix(file, Ext), string(text))
		if err != nil {
			return nil, err
		}
		for _, k := range s.Kernels {
			if j, dup := l.byKernel[k]; dup {
				return nil, fmt.Errorf("kernels: kernel %s is defined in both %s%s and %s%s", k, l.sources[j].Name, Ext, s.Name, Ext)
			}
			l.byKernel[k] = len(l.sources)
		}
		l.sources = append(l.sources, s)
		if p, err := fs.ReadFile(fsys, path.Join("ptx", s.Name+".ptx")); err == nil {
			l.ptx[s.Name] = string(p)
		}
	}
	return l, nil
}

func (l *Library) parseSource(name, text string) (Source, error) {
	s := Source{Name: name, Text: text}
	seen := map[string]bool{}
	var b strings.Builder
	if err := l.expand(&b, name+Ext, text, seen, 0); err != nil {
		return Source{}, err
	}
	s.expanded = b.String()
	for _, m := range kernelRE.FindAllStringSubmatch(s.expanded, -1) {
		s.Kernels = append(s.Kernels, m[1])
	}
	for _, m := range defineRE.FindAllStringSubmatch(text, -1) {
		for _, d := range strings.Fields(m[1]) {
			if !macroRE.MatchString(d) {
				return Source{}, fmt.Errorf("kernels: %s%s: dc:define %q is not NAME or NAME=VALUE", name, Ext, d)
			}
			s.Defines = append(s.Defines, d)
		}
	}
	if !seen[CompatHeader] {
		return Source{}, fmt.Errorf("kernels: %s%s does not #include %q", name, Ext, CompatHeader)
	}
	return s, nil
}

// expand writes text (of the file named file) to b with each #include of
// a header replaced by the header's own expansion, the first time only,
// and #line directives that keep the compiler's messages on the original
// files and lines.
func (l *Library) expand(b *strings.Builder, file, text string, seen map[string]bool, depth int) error {
	if depth > 16 {
		return fmt.Errorf("kernels: %s: headers nested more than 16 deep", file)
	}
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		m := includeRE.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			b.WriteString(line)
			continue
		}
		h, ok := l.headers[m[1]]
		if !ok {
			return fmt.Errorf("kernels: %s:%d: #include %q is not a header of gpu/kernels (only *.h there can be included)", file, i+1, m[1])
		}
		if !seen[m[1]] {
			seen[m[1]] = true
			fmt.Fprintf(b, "#line 1 \"%s\"\n", m[1])
			if err := l.expand(b, m[1], h, seen, depth+1); err != nil {
				return err
			}
			if !strings.HasSuffix(h, "\n") {
				b.WriteString("\n")
			}
		}
		fmt.Fprintf(b, "#line %d \"%s\"\n", i+2, file)
	}
	return nil
}

// Sources lists the kernel files in name order.
func (l *Library) Sources() []Source { return slices.Clone(l.sources) }

// Lookup returns the source that defines kernel.
func (l *Library) Lookup(kernel string) (Source, bool) {
	i, ok := l.byKernel[kernel]
	if !ok {
		return Source{}, false
	}
	return l.sources[i], true
}

// OpenCLSource is s as one self-contained OpenCL C program: its headers
// are spliced in place of their #include lines (the driver has no file
// system to include from, and a temporary -I directory would change
// PoCL's cache key every run), and #line keeps the driver's messages on
// the original files' lines.
func (l *Library) OpenCLSource(s Source) string { return s.expanded }

// OpenCLOptions are the clBuildProgram options for s: its defines, and
// strict single-precision semantics matching the CUDA build (no
// -cl-fast-relaxed-math: the tests compare against Go at 1e-6).
func OpenCLOptions(s Source) string {
	opts := []string{"-cl-std=CL1.2"}
	for _, d := range s.Defines {
		opts = append(opts, "-D"+d)
	}
	return strings.Join(opts, " ")
}

// PTX returns the committed PTX of the source named name.
func (l *Library) PTX(name string) (string, error) {
	p, ok := l.ptx[name]
	if !ok {
		return "", fmt.Errorf("kernels: no ptx/%s.ptx (run `make ptx`)", name)
	}
	return p, nil
}

// ClangArgs are the clang-19 arguments that compile src (a path relative
// to the kernels directory) to PTX at out, as `make ptx` runs them.
func ClangArgs(s Source, src, out string) []string {
	args := []string{"-x", "cuda", "--cuda-device-only", "-nocudainc", "-nocudalib",
		"--cuda-gpu-arch=" + GPUArch, "-O3", "-S"}
	for _, d := range s.Defines {
		args = append(args, "-D"+d)
	}
	return append(args, "-o", out, src)
}

// GeneratePTX compiles every source of the kernels directory dir with
// clang (e.g. "clang-19") into outDir/NAME.ptx and removes any other .ptx
// there, so that outDir holds exactly the PTX of dir's sources. clang runs
// in dir with relative paths, so the output does not depend on where the
// checkout lives.
func GeneratePTX(ctx context.Context, clang, dir, outDir string) error {
	lib, err := Load(os.DirFS(dir))
	if err != nil {
		return err
	}
	absOut, err := filepath.Abs(outDir)
	if err != nil {
		return fmt.Errorf("kernels: %w", err)
	}
	if err := os.MkdirAll(absOut, 0o755); err != nil {
		return fmt.Errorf("kernels: %w", err)
	}
	keep := map[string]bool{}
	for _, s := range lib.sources {
		out := filepath.Join(absOut, s.Name+".ptx")
		cmd := exec.CommandContext(ctx, clang, ClangArgs(s, s.Name+Ext, out)...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kernels: %s %s: %w\n%s", clang, s.Name+Ext, err, stderr.String())
		}
		keep[s.Name+".ptx"] = true
	}
	old, err := filepath.Glob(filepath.Join(absOut, "*.ptx"))
	if err != nil {
		return fmt.Errorf("kernels: %w", err)
	}
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("kernels: %w", err)
			}
		}
	}
	return nil
}

// Param is the kind of one kernel parameter as PTX declares it.
type Param byte

// The parameter kinds: a pointer (.u64), a 32-bit integer (.u32, .s32,
// .b32) or a float32 (.f32).
const (
	ParamPointer Param = 'p'
	ParamInt32   Param = 'i'
	ParamFloat32 Param = 'f'
)

var (
	entryRE = regexp.MustCompile(`\.entry[ \t]+([A-Za-z_][A-Za-z0-9_$]*)\(([^)]*)\)`)
	paramRE = regexp.MustCompile(`\.param[ \t]+(?:\.align[ \t]+\d+[ \t]+)?\.(\w+)`)
)

// Entries parses the kernels of a PTX module and the kinds of their
// parameters, so the CUDA device can check a launch's arguments (the
// driver itself cannot: a wrong argument list is undefined behaviour).
func Entries(ptx string) (map[string][]Param, error) {
	out := map[string][]Param{}
	for _, m := range entryRE.FindAllStringSubmatch(ptx, -1) {
		var params []Param
		for _, p := range paramRE.FindAllStringSubmatch(m[2], -1) {
			switch p[1] {
			case "u64", "b64", "s64":
				params = append(params, ParamPointer)
			case "u32", "s32", "b32":
				params = append(params, ParamInt32)
			case "f32":
				params = append(params, ParamFloat32)
			default:
				return nil, fmt.Errorf("kernels: ptx entry %s: parameter type .%s is not a pointer, int or float", m[1], p[1])
			}
		}
		out[m[1]] = params
	}
	return out, nil
}
