// Package static holds the browser client's files (index.html, styles,
// wasm_exec.js and the built main.wasm with its gzip copy), embedded into
// the binary so that `deepercluster serve` needs nothing beside itself.
//
// The pattern "*" always matches (this file at least), so the package
// builds on a clean checkout before `make wasm` has produced main.wasm and
// wasm_exec.js, which git ignores. Go sources are embedded too but the
// server does not serve them.
package static

import "embed"

// FS is the content of the static/ directory at build time.
//
//go:embed *
var FS embed.FS
