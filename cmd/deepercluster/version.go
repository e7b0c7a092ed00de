package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildVersion is what `deepercluster version` prints: the module version
// (a tag for `go install ...@vX`, "(devel)" for a local build), the commit
// and whether the tree had changes (from the VCS stamp of a build inside a
// git checkout), and the Go version, as a bug report needs them.
type buildVersion struct {
	Module, Version, Commit, Time string
	Modified                      bool
	Go                            string
}

// readBuildVersion reads the binary's build information
// (runtime/debug.ReadBuildInfo); a binary built without it (a test, go run
// outside a module) says "unknown".
func readBuildVersion() buildVersion { return versionFrom(debug.ReadBuildInfo()) }

// versionFrom reads bi (ok false: none). Go stamps the VCS settings only
// for a build inside a git checkout whose .git is a directory (not a
// worktree's .git file) without -buildvcs=false; elsewhere the commit is
// "unknown".
func versionFrom(bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Module: "github.com/deepercluster/deepercluster", Version: "unknown", Commit: "unknown", Go: runtime.Version()}
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// runVersion prints the module version, commit and Go version.
func runVersion(_ context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	v := readBuildVersion()
	commit := v.Commit
	if v.Modified {
		commit += " (modified)"
	}
	if v.Time != "" {
		commit += " " + v.Time
	}
	fmt.Fprintf(a.stdout, "deepercluster %s\nmodule %s\ncommit %s\ngo %s %s/%s\n", v.Version, v.Module, commit, v.Go, runtime.GOOS, runtime.GOARCH)
	return nil
}
