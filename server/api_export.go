package server

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// getExport streams every image's clusters and tags, with the note of its
// sub-cluster (name, verdict, text) where there is one, so a million rows
// never sit in memory as one answer.
func (s *Server) getExport(c echo.Context) error {
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
		cw.Write([]string{"id", "super", "sub", "tags", "cluster_name", "verdict", "note"})
	} else {
		je = json.NewEncoder(bw)
	}
	for i := range a.Super {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil // the client went away
		}
		tags := s.ds.Meta(i).Tags
		if cw != nil {
			// Tags may hold spaces and commas; "|" separates them.
			rec := []string{strconv.Itoa(i), strconv.Itoa(int(a.Super[i])), strconv.Itoa(int(a.Sub[i])), strings.Join(tags, "|"), "", "", ""}
			if n := notes[a.Sub[i]]; n != nil {
				rec[4], rec[5], rec[6] = n.Name, n.Verdict, n.Text
			}
			err := cw.Write(rec)
			if err != nil {
				return nil
			}
		} else {
			if tags == nil {
				tags = []string{}
			}
			if err := je.Encode(row{i, a.Super[i], a.Sub[i], tags, notes[a.Sub[i]]}); err != nil {
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
