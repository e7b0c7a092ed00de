package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// apiError is an error answer: {"error": Msg, "field": Field}.
type apiError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
	Job    *Job   `json:"job,omitempty"`
}

func (e *apiError) Error() string { return e.Msg }

func fail(status int, field, format string, args ...any) error {
	return &apiError{Status: status, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Handler is the server's HTTP handler: API, websocket and static files.
func (s *Server) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(lendP, s.countRequests, s.checkHost)

	// Body limits are set per route, here: every route takes at most
	// Config.MaxBody bytes (first, before any other route middleware),
	// but for POST /api/export, a selection of up to a million ids.
	small, export := limitBody(s.cfg.MaxBody), limitBody(s.cfg.MaxExportBody)

	e.GET("/healthz", s.healthz, small)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})), small)
	e.GET("/api/run", s.getRunInfo, small)
	e.GET("/api/clusters", s.getClusters, small)
	e.GET("/api/clusters/:super/:sub", s.getCluster, small)
	e.PUT("/api/clusters/:super/:sub/note", s.putNote, small, s.requireToken)
	e.GET("/api/notes", s.getNotes, small)
	e.GET("/api/images/:id", s.getImage, small)
	e.GET("/api/images/:id/thumb", s.getThumb, small)
	e.GET("/api/images/:id/similar", s.getSimilar, small)
	e.GET("/api/thumbs", s.getThumbs, small)
	e.GET("/api/search", s.getSearch, small)
	e.GET("/api/suggest", s.getSuggest, small)
	e.POST("/api/recluster", s.postRecluster, small, s.requireToken)
	e.GET("/api/export", s.getExport, small)
	e.POST("/api/export", s.postExport, export)
	e.GET("/api/layout", s.getLayout, small)
	e.GET("/api/flow", s.getFlow, small)
	e.GET("/api/flow/images", s.getFlowImages, small)
	e.GET("/ws", s.serveWS, small, s.requireToken)
	files := staticHandler()
	e.GET("/*", func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			return fail(http.StatusNotFound, "", "no such endpoint: %s %s", c.Request().Method, c.Request().URL.Path)
		}
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}, small)
	return e
}

// errorHandler writes every error as {"error": ..., "field": ...}.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &apiError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body over %d bytes", mbe.Limit)}
	case errors.As(err, &he):
		ae = &apiError{Status: he.Code, Msg: fmt.Sprint(he.Message)}
		if he.Code == http.StatusNotFound {
			ae.Msg = "no such endpoint: " + c.Request().URL.Path
		}
	default:
		s.log.Error("request failed", "path", c.Request().URL.Path, "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Msg: err.Error()}
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(ae.Status)
		return
	}
	c.JSON(ae.Status, ae)
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "version": s.version(), "clients": s.hub.Clients()})
}

// jsonFloat writes NaN and infinities as null (JSON has no NaN).
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// intParam parses a path or query value as an integer in [lo, hi).
func intParam(field, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fail(http.StatusNotFound, field, "%s %s outside [%d,%d)", field, v, lo, hi)
	}
	if err != nil {
		return 0, fail(http.StatusBadRequest, field, "%s must be an integer, got %q", field, v)
	}
	if n < lo || n >= hi {
		return 0, fail(http.StatusNotFound, field, "%s %d outside [%d,%d)", field, n, lo, hi)
	}
	return n, nil
}
