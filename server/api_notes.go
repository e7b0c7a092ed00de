package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Limits of a note's fields, in characters.
const (
	maxNoteName = 80
	maxNoteText = 500
)

// noteBody is the body of PUT /api/clusters/{super}/{sub}/note.
type noteBody struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Text    string `json:"text"`
}

// decodeNote reads and checks a note body, naming the field at fault.
func decodeNote(r io.Reader) (noteBody, error) {
	var b noteBody
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return b, err
		case errors.Is(err, io.EOF):
			return b, fail(http.StatusBadRequest, "", "empty body: want a JSON object with name, verdict, text")
		case errors.As(err, &se):
			return b, fail(http.StatusBadRequest, "", "invalid JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return b, fail(http.StatusBadRequest, te.Field, "%s must be a %s, got a JSON %s", te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return b, fail(http.StatusBadRequest, f, "unknown field %q: want name, verdict, text", f)
		}
		return b, fail(http.StatusBadRequest, "", "invalid JSON: %v", err)
	}
	if dec.More() {
		return b, fail(http.StatusBadRequest, "", "trailing data after the JSON object")
	}
	b.Name, b.Text = strings.TrimSpace(b.Name), strings.TrimSpace(b.Text)
	for _, f := range []struct {
		field, v string
		max      int
	}{{"name", b.Name, maxNoteName}, {"text", b.Text, maxNoteText}} {
		if n := utf8.RuneCountInString(f.v); n > f.max {
			return b, fail(http.StatusBadRequest, f.field, "%s is %d characters, over the limit of %d", f.field, n, f.max)
		}
		if !utf8.ValidString(f.v) {
			return b, fail(http.StatusBadRequest, f.field, "%s is not valid UTF-8", f.field)
		}
		if i := strings.IndexFunc(f.v, unicode.IsControl); i >= 0 {
			return b, fail(http.StatusBadRequest, f.field, "%s holds a control character at byte %d: one line of text, please", f.field, i)
		}
	}
	if !slices.Contains(verdicts, b.Verdict) {
		return b, fail(http.StatusBadRequest, "verdict", "verdict %q: want good, mixed, bad or empty", b.Verdict)
	}
	return b, nil
}

// putNote names a sub-cluster, marks it good / mixed / bad and keeps a
// line of text about it; an empty name, verdict and text removes the note.
func (s *Server) putNote(c echo.Context) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fail(http.StatusUnsupportedMediaType, "", "Content-Type %q: want application/json", ct)
	}
	body, err := decodeNote(c.Request().Body)
	if err != nil {
		return err
	}
	st := s.current()
	if st == nil {
		return fail(http.StatusServiceUnavailable, "", "no clustering yet: the first one is running")
	}
	sup, sub, err := s.clusterPath(c, st)
	if err != nil {
		return err
	}
	// One writer at a time, and never while the notes follow a new
	// version: the note is made on the version published now.
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if cur := s.current(); cur != st {
		return fail(http.StatusConflict, "", "version %d replaced version %d while the note was sent: look at the cluster again", cur.a.Version, st.a.Version)
	}
	n, err := s.notes.put(st, int32(sub), body.Name, body.Verdict, body.Text)
	if err != nil {
		return err
	}
	s.log.Info("cluster note", "super", sup, "sub", sub, "version", st.a.Version, "name", body.Name, "verdict", body.Verdict)
	return c.JSON(http.StatusOK, map[string]any{"super": sup, "sub": sub, "version": st.a.Version, "note": toNoteJSON(n)})
}

// clusterPath reads {super}/{sub} of the URL against the published version.
func (s *Server) clusterPath(c echo.Context, st *published) (sup, sub int, err error) {
	if sup, err = intParam("super", c.Param("super"), 0, st.a.M); err != nil {
		return 0, 0, err
	}
	if sub, err = intParam("sub", c.Param("sub"), 0, len(st.a.SubParent)); err != nil {
		return 0, 0, err
	}
	if int(st.a.SubParent[sub]) != sup {
		return 0, 0, fail(http.StatusNotFound, "sub", "sub-cluster %d belongs to super-cluster %d, not %d", sub, st.a.SubParent[sub], sup)
	}
	return sup, sub, nil
}

// getNotes lists the notes on the clusters of the published version: what
// the page needs to name clusters on the map, without the whole hierarchy
// of GET /api/clusters.
func (s *Server) getNotes(c echo.Context) error {
	st := s.current()
	out := []*noteJSON{}
	var version uint32
	if st != nil {
		version = st.a.Version
		for z, n := range s.notes.all() {
			if n.Version == version && int(z) < len(st.a.SubParent) {
				nj := toNoteJSON(n)
				sup := st.a.SubParent[z]
				nj.Super = &sup
				out = append(out, nj)
			}
		}
		slices.SortFunc(out, func(a, b *noteJSON) int { return int(a.Sub - b.Sub) })
	}
	return c.JSON(http.StatusOK, map[string]any{"version": version, "notes": out})
}
