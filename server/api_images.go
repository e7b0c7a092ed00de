package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// getThumb answers the thumbnail of one image, from a cache, with an ETag
// so browsers revalidate instead of fetching it again: ?px=N asks for N
// pixels on the longest side at most (renderThumb), without it the largest
// the dataset keeps. A JPEG for datasets with display copies, else a PNG.
func (s *Server) getThumb(c echo.Context) error {
	// An id that looks like a path is not an image: 404, saying nothing
	// about how it was read.
	if raw := c.Param("id"); strings.ContainsAny(raw, "./\\%\x00") {
		return fail(http.StatusNotFound, "id", "no image %q", raw)
	}
	id, err := intParam("id", c.Param("id"), 0, s.ds.Len())
	if err != nil {
		return err
	}
	px, err := thumbPx(c.QueryParam("px"))
	if err != nil {
		return err
	}
	t, err := s.thumbnail(id, px)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", t.etag)
	h.Set("Cache-Control", "public, max-age=86400")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, t.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, t.ctype, t.data)
}

// thumbPx reads a thumbnail size parameter: "" is 0 (as stored), else an
// integer in [MinThumbPx, MaxThumbPx]; anything else is a 400 naming px.
func thumbPx(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < MinThumbPx || n > MaxThumbPx {
		return 0, fail(http.StatusBadRequest, "px", "px must be an integer in [%d, %d], got %q", MinThumbPx, MaxThumbPx, v)
	}
	return n, nil
}
