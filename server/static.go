package server

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster/static"
)

// staticHandler serves the embedded client. main.wasm goes out as its
// pre-compressed gzip copy when there is one and the browser accepts gzip,
// so no request ever pays for compression. Go sources are not served.
func staticHandler() http.Handler {
	files := http.FileServerFS(static.FS)
	gz, gzErr := fs.ReadFile(static.FS, "main.wasm.gz")
	var gzTag string
	if gzErr == nil {
		h := fnv.New64a()
		h.Write(gz)
		gzTag = fmt.Sprintf(`"%016x-gz"`, h.Sum64())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if strings.HasSuffix(p, ".go") {
			http.NotFound(w, r)
			return
		}
		if p == "/main.wasm" {
			w.Header().Set("Vary", "Accept-Encoding")
			if gzErr == nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Type", "application/wasm")
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("ETag", gzTag)
				http.ServeContent(w, r, "main.wasm", time.Time{}, bytes.NewReader(gz))
				return
			}
			w.Header().Set("Content-Type", "application/wasm")
		}
		files.ServeHTTP(w, r)
	})
}
