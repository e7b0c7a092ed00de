package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// getThumb answers the PNG thumbnail of one image, from a cache, with an
// ETag so browsers revalidate instead of fetching it again.
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
	t, ok := s.thumbs.get(id)
	if !ok {
		if t, err = renderThumb(s.ds, id); err != nil {
			return err
		}
		s.thumbs.put(id, t)
	}
	h := c.Response().Header()
	h.Set("ETag", t.etag)
	h.Set("Cache-Control", "public, max-age=86400")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, t.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "image/png", t.png)
}
