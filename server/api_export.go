package server

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

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
// (name, verdict, text) where there is one and the image's position on the
// 2D map (x, y) when a layout is published, so a million rows never sit in
// memory as one answer. The format is checked before the selection is read,
// so a bad format is the 400 whatever the ids.
func (s *Server) export(c echo.Context, selection func(n int) ([]int32, error)) error {
	format := c.QueryParam("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "jsonl" {
		return fail(http.StatusBadRequest, "format", "format %q: want csv or jsonl", format)
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
	lay := s.currentLayout()
	if lay != nil && len(lay.X) != len(a.Super) {
		lay = nil
	}
	resp := c.Response()
	if format == "csv" {
		resp.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		resp.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	}
	resp.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="clusters-v%d.%s"`, a.Version, format))
	resp.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(resp, 64<<10)
	ctx := c.Request().Context()
	type noteRow struct {
		Name    string `json:"name"`
		Verdict string `json:"verdict"`
		Text    string `json:"text"`
	}
	type row struct {
		ID    int      `json:"id"`
		Super int32    `json:"super"`
		Sub   int32    `json:"sub"`
		Tags  []string `json:"tags"`
		// Note is the note on the image's sub-cluster, absent when none.
		Note *noteRow `json:"note,omitempty"`
		// X and Y are the image's position on the 2D map, absent when
		// no layout is published.
		X *float32 `json:"x,omitempty"`
		Y *float32 `json:"y,omitempty"`
	}
	notes := map[int32]*noteRow{}
	for z, n := range s.notes.all() {
		if n.Version == a.Version {
			notes[z] = &noteRow{n.Name, n.Verdict, n.Text}
		}
	}
	var cw *csv.Writer
	var je *json.Encoder
	if format == "csv" {
		cw = csv.NewWriter(bw)
		head := []string{"id", "super", "sub", "tags", "cluster_name", "verdict", "note"}
		if lay != nil {
			head = append(head, "x", "y")
		}
		cw.Write(head)
	} else {
		je = json.NewEncoder(bw)
	}
	n := len(a.Super)
	if sel != nil {
		n = len(sel)
	}
	for j := range n {
		i := j
		if sel != nil {
			i = int(sel[j])
		}
		if j%4096 == 0 && ctx.Err() != nil {
			return nil // the client went away
		}
		tags := s.ds.Meta(i).Tags
		if cw != nil {
			// Tags may hold spaces and commas; "|" separates them.
			rec := []string{strconv.Itoa(i), strconv.Itoa(int(a.Super[i])), strconv.Itoa(int(a.Sub[i])), strings.Join(tags, "|"), "", "", ""}
			if n := notes[a.Sub[i]]; n != nil {
				rec[4], rec[5], rec[6] = n.Name, n.Verdict, n.Text
			}
			if lay != nil {
				rec = append(rec, strconv.FormatFloat(float64(lay.X[i]), 'g', -1, 32), strconv.FormatFloat(float64(lay.Y[i]), 'g', -1, 32))
			}
			err := cw.Write(rec)
			if err != nil {
				return nil
			}
		} else {
			if tags == nil {
				tags = []string{}
			}
			r := row{ID: i, Super: a.Super[i], Sub: a.Sub[i], Tags: tags, Note: notes[a.Sub[i]]}
			if lay != nil {
				r.X, r.Y = &lay.X[i], &lay.Y[i]
			}
			if err := je.Encode(r); err != nil {
				return nil
			}
		}
	}
	if cw != nil {
		cw.Flush()
	}
	if err := bw.Flush(); err != nil {
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
