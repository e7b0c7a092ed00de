package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/deepercluster/deepercluster"
)

// maxQuery is the longest search query or prefix accepted.
const maxQuery = 1024

// searchErr turns a searcher's error into an answer; the index names
// query fields (tags, prefix, text), which map to the HTTP parameters.
func searchErr(err error, field func(string) string) error {
	var fe *deepercluster.FieldError
	switch {
	case errors.As(err, &fe):
		return fail(http.StatusBadRequest, field(fe.Field), "%s", fe.Msg)
	case errors.Is(err, deepercluster.ErrBadQuery):
		return fail(http.StatusBadRequest, field(""), "%v", err)
	case errors.Is(err, deepercluster.ErrNotReady):
		return fail(http.StatusServiceUnavailable, "", "%v", err)
	}
	return err
}

// limitParam reads an optional "limit" query value in [1, max].
func limitParam(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, fail(http.StatusBadRequest, "limit", "limit must be an integer in [1,%d], got %q", max, v)
	}
	return n, nil
}

// getSearch ranks clusters for a query: q holds exact tags separated by
// commas ("new york,beach"; a single tag ending in "*" is a prefix), op
// combines them ("and", the default, or "or"), and text searches titles
// and descriptions. At least one of q and text is needed.
func (s *Server) getSearch(c echo.Context) error {
	q, text := c.QueryParam("q"), c.QueryParam("text")
	if strings.TrimSpace(q) == "" && strings.TrimSpace(text) == "" {
		return fail(http.StatusBadRequest, "q", "the query q is empty")
	}
	for _, p := range [][2]string{{"q", q}, {"text", text}} {
		if len(p[1]) > maxQuery {
			return fail(http.StatusBadRequest, p[0], "%s is %d bytes, over the limit of %d", p[0], len(p[1]), maxQuery)
		}
	}
	n, err := limitParam(c, 20, 1000)
	if err != nil {
		return err
	}
	query := deepercluster.Query{Text: text, Limit: n}
	switch op := c.QueryParam("op"); op {
	case "", "and":
		query.Op = deepercluster.OpAnd
	case "or":
		query.Op = deepercluster.OpOr
	default:
		return fail(http.StatusBadRequest, "op", "op %q: want and or or", op)
	}
	if t := strings.TrimSpace(q); strings.HasSuffix(t, "*") && !strings.Contains(t, ",") {
		query.Prefix = strings.TrimSuffix(t, "*")
	} else if t != "" {
		for _, tag := range strings.Split(t, ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				query.Tags = append(query.Tags, tag)
			}
		}
	}
	if s.search == nil {
		return fail(http.StatusServiceUnavailable, "", "search is not available: no index")
	}
	res, err := s.search.Search(c.Request().Context(), query)
	if err != nil {
		return searchErr(err, func(f string) string {
			if f == "text" {
				return "text"
			}
			return "q"
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"query": q, "text": text, "result": res})
}

func (s *Server) getSuggest(c echo.Context) error {
	p := c.QueryParam("prefix")
	if strings.TrimSpace(p) == "" {
		return fail(http.StatusBadRequest, "prefix", "the prefix is empty")
	}
	if len(p) > maxQuery {
		return fail(http.StatusBadRequest, "prefix", "the prefix is %d bytes, over the limit of %d", len(p), maxQuery)
	}
	n, err := limitParam(c, 10, 100)
	if err != nil {
		return err
	}
	if s.search == nil {
		return fail(http.StatusServiceUnavailable, "", "suggestions are not available: no index")
	}
	tags, err := s.search.Suggest(c.Request().Context(), p, n)
	if err != nil {
		return searchErr(err, func(string) string { return "prefix" })
	}
	if tags == nil {
		tags = []deepercluster.TagCount{}
	}
	return c.JSON(http.StatusOK, map[string]any{"prefix": p, "tags": tags})
}
