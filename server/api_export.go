package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/deepercluster/deepercluster/export"
	"github.com/labstack/echo/v4"
)

// getExport answers GET /api/export: the rows of every image, or of the
// selection ?ids=1,2,3 (see export).
func (s *Server) getExport(c echo.Context) error {
	return s.export(c, func(n int) ([]int32, error) { return querySelection(c, n) })
}

// postExport answers POST /api/export {"ids":[...]}: the rows of a selection
// too long for a query string (a lasso on the map), under the route's own
// body limit, Config.MaxExportBody.
func (s *Server) postExport(c echo.Context) error {
	return s.export(c, func(n int) ([]int32, error) { return bodySelection(c.Request().Body, n) })
}

// export streams the clusters and tags of every image, or of the selection
// that selection picks among n images (rows for those ids, in increasing
// order, each once; nil for every image), with the note of its sub-cluster
// (name, verdict, text) where there is one, the image's position on the 2D
// map (x, y) when a layout is published and, with ?features=1, its feature
// vector, so a million rows never sit in memory as one answer. The rows
// are built by package export, the same code as `deepercluster export`.
// The format is checked before the selection is read, so a bad format is
// the 400 whatever the ids.
func (s *Server) export(c echo.Context, selection func(n int) ([]int32, error)) error {
	format := c.QueryParam("format")
	if format == "" {
		format = export.CSV
	}
	if err := export.CheckFormat(format); err != nil {
		return fail(http.StatusBadRequest, "format", "%v", err)
	}
	withFeatures := false
	if v := c.QueryParam("features"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fail(http.StatusBadRequest, "features", "features %q: want 1 or 0", v)
		}
		withFeatures = b
	}
	st := s.current()
	if st == nil {
		return fail(http.StatusServiceUnavailable, "", "no clustering yet: the first one is running")
	}
	a := st.a
	sel, err := selection(len(a.Super))
	if err != nil {
		return err
	}
	t := &export.Table{A: a, Tags: func(i int) []string { return s.ds.Meta(i).Tags }, Notes: map[int32]export.Note{}}
	if lay := s.currentLayout(); lay != nil && len(lay.X) == len(a.Super) {
		t.X, t.Y = lay.X, lay.Y
	}
	if withFeatures {
		s.mu.Lock()
		sim := s.similar
		s.mu.Unlock()
		if sim == nil || sim.f.Version != a.Version {
			return fail(http.StatusServiceUnavailable, "features", "the features of version %d are not ready yet", a.Version)
		}
		t.Features, t.Dim = sim.f.Data, sim.f.Dim
	}
	for z, n := range s.notes.all() {
		if n.Version == a.Version {
			t.Notes[z] = export.Note{Name: n.Name, Verdict: n.Verdict, Text: n.Text}
		}
	}
	resp := c.Response()
	resp.Header().Set(echo.HeaderContentType, export.ContentType(format))
	resp.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="clusters-v%d.%s"`, a.Version, format))
	resp.WriteHeader(http.StatusOK)
	ctx := c.Request().Context()
	if err := export.Write(ctx, resp, format, t, sel); err != nil {
		// The status is sent: a failed write can only be logged, and a
		// client that went away needs nothing.
		if ctx.Err() == nil {
			s.log.Warn("export ended early", "format", format, "version", a.Version, "err", err)
		}
		return nil
	}
	resp.Flush()
	return nil
}

// maxExportIDs bounds a selection given in the query string (longer ones are
// POSTed).
const maxExportIDs = 1 << 20

// querySelection is the ids of GET /api/export?ids=, sorted and without
// repeats; nil when the query names none (every image). n is the number of
// images; an id outside [0,n) or not a number is a 400 naming it.
func querySelection(c echo.Context, n int) ([]int32, error) {
	if !c.QueryParams().Has("ids") {
		return nil, nil
	}
	var raw []string
	if q := c.QueryParam("ids"); q != "" {
		raw = strings.Split(q, ",")
	}
	if len(raw) > maxExportIDs {
		return nil, fail(http.StatusBadRequest, "ids", "%d ids in the query, over %d: POST them as {\"ids\": [...]}", len(raw), maxExportIDs)
	}
	return parseSelection(raw, n)
}

// bodySelection is the ids of a POST /api/export body {"ids": [...]},
// sorted and without repeats. A body over the route's limit is the
// *http.MaxBytesError itself (the error handler's 413); any other bad body
// is a 400 naming "ids".
func bodySelection(body io.Reader, n int) ([]int32, error) {
	var req struct {
		IDs []json.Number `json:"ids"`
	}
	dec := json.NewDecoder(body)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, fail(http.StatusBadRequest, "ids", "export body: want {\"ids\": [image ids]}: %v", err)
	}
	if req.IDs == nil {
		return nil, fail(http.StatusBadRequest, "ids", "export body: no \"ids\" list")
	}
	raw := make([]string, len(req.IDs))
	for j, v := range req.IDs {
		raw[j] = v.String()
	}
	return parseSelection(raw, n)
}

// parseSelection turns the ids of either request into image ids in [0,n),
// sorted and without repeats; an empty list, or an id outside [0,n) or not
// a number, is a 400 naming it.
func parseSelection(raw []string, n int) ([]int32, error) {
	if len(raw) == 0 {
		return nil, fail(http.StatusBadRequest, "ids", "ids is empty: name at least one image")
	}
	ids := make([]int32, len(raw))
	for j, v := range raw {
		id, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || id < 0 || id >= n {
			return nil, fail(http.StatusBadRequest, "ids", "id %q (position %d) is not an image id in [0,%d)", v, j, n)
		}
		ids[j] = int32(id)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
