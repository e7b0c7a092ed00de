package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
	"github.com/labstack/echo/v4"
)

// PublishLayout makes l the server's 2D map: every websocket client gets it
// as a Layout frame now, and a client that connects later gets it after its
// snapshot and history; GET /api/layout and the export's x,y columns use
// it. The server keeps its own copy, so l may be reused by the caller. The
// layout the server computes itself (after each reclustering) comes
// through here too; a benchmark hands it a precomputed one.
func (s *Server) PublishLayout(l *deepercluster.Layout) error {
	return s.publishLayout(l, nil)
}

// publishLayout is PublishLayout; check, when set, runs under the lock
// that orders publications and cancels this one with its error.
func (s *Server) publishLayout(l *deepercluster.Layout, check func() error) error {
	if l == nil {
		return errors.New("publish layout: nil layout")
	}
	if len(l.X) != s.ds.Len() || len(l.Y) != s.ds.Len() {
		return fmt.Errorf("publish layout v%d: %d x and %d y for %d images", l.Version, len(l.X), len(l.Y), s.ds.Len())
	}
	own := &deepercluster.Layout{Version: l.Version, Final: l.Final,
		X: append([]float32(nil), l.X...), Y: append([]float32(nil), l.Y...)}
	frame := wire.AppendLayout(nil, wire.RunHash(s.info().ID), own)
	s.layoutMu.Lock()
	defer s.layoutMu.Unlock()
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.layout, s.layoutFrame = own, frame
	s.mu.Unlock()
	s.hub.PublishLayout(frame, nil)
	return nil
}

// publishLayoutDelta refines the published layout: clients get d as a
// LayoutDelta frame, new clients the refined whole layout. The layout is
// copied before it changes (readers hold the old one without a lock).
func (s *Server) publishLayoutDelta(d *deepercluster.LayoutDelta, check func() error) error {
	s.layoutMu.Lock()
	defer s.layoutMu.Unlock()
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	cur := s.currentLayout()
	if cur == nil {
		return errors.New("publish layout delta: no layout to refine")
	}
	next := &deepercluster.Layout{Version: cur.Version, Final: cur.Final,
		X: append([]float32(nil), cur.X...), Y: append([]float32(nil), cur.Y...)}
	if err := d.Apply(next); err != nil {
		return fmt.Errorf("publish layout delta: %w", err)
	}
	run := wire.RunHash(s.info().ID)
	frame := wire.AppendLayout(nil, run, next)
	s.mu.Lock()
	s.layout, s.layoutFrame = next, frame
	s.mu.Unlock()
	s.hub.PublishLayout(frame, wire.AppendLayoutDelta(nil, run, d))
	return nil
}

// currentLayout is the published layout (nil before the first); it is never
// modified once published.
func (s *Server) currentLayout() *deepercluster.Layout {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.layout
}

// getLayout answers the latest Layout frame (the wire format's bytes), for
// clients that reconnect; 503 until the first layout is ready.
func (s *Server) getLayout(c echo.Context) error {
	s.mu.Lock()
	frame := s.layoutFrame
	s.mu.Unlock()
	if frame == nil {
		return fail(http.StatusServiceUnavailable, "", "no layout yet: the map is computed from the features of a clustering once they arrive")
	}
	return c.Blob(http.StatusOK, "application/octet-stream", frame)
}

// getFlow answers the contingency table between the sub-clusters of two
// versions (deepercluster.Flow): to defaults to the latest version, from to
// the one before it.
func (s *Server) getFlow(c echo.Context) error {
	st := s.current()
	if st == nil {
		return fail(http.StatusServiceUnavailable, "", "no clustering yet: the first one is running")
	}
	latest := st.a.Version
	to, err := versionParam(c, "to", latest)
	if err != nil {
		return err
	}
	var from uint32
	if v := c.QueryParam("from"); v != "" {
		if from, err = versionParam(c, "from", 0); err != nil {
			return err
		}
	} else {
		if to == 0 {
			return fail(http.StatusBadRequest, "from", "no version before version 0: give from")
		}
		from = to - 1
	}
	a, err := s.assignmentVersion(st, from, "from")
	if err != nil {
		return err
	}
	b, err := s.assignmentVersion(st, to, "to")
	if err != nil {
		return err
	}
	f, err := deepercluster.ComputeFlow(a, b)
	if err != nil {
		return fail(http.StatusConflict, "", "%v", err)
	}
	return c.JSON(http.StatusOK, f)
}

// maxFlowImages caps the ids one GET /api/flow/images answers.
const maxFlowImages = 10000

// getFlowImages lists the images of one band of the flow view: those in
// cluster a of version from and in cluster b of version to, at level sub
// (sub-cluster ids, the default) or super (super-cluster ids), in id order,
// at most limit (default 200) of them, with the band's full count.
func (s *Server) getFlowImages(c echo.Context) error {
	st := s.current()
	if st == nil {
		return fail(http.StatusServiceUnavailable, "", "no clustering yet: the first one is running")
	}
	to, err := versionParam(c, "to", st.a.Version)
	if err != nil {
		return err
	}
	if c.QueryParam("from") == "" && to == 0 {
		return fail(http.StatusBadRequest, "from", "no version before version 0: give from")
	}
	from, err := versionParam(c, "from", to-1)
	if err != nil {
		return err
	}
	level := c.QueryParam("level")
	if level == "" {
		level = "sub"
	}
	if level != "sub" && level != "super" {
		return fail(http.StatusBadRequest, "level", "level %q: want sub or super", level)
	}
	limit := 200
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxFlowImages {
			return fail(http.StatusBadRequest, "limit", "limit must be a number from 1 to %d, got %q", maxFlowImages, v)
		}
	}
	a, err := s.assignmentVersion(st, from, "from")
	if err != nil {
		return err
	}
	b, err := s.assignmentVersion(st, to, "to")
	if err != nil {
		return err
	}
	la, lb := a.Sub, b.Sub
	na, nb := len(a.SubParent), len(b.SubParent)
	if level == "super" {
		la, lb, na, nb = a.Super, b.Super, a.M, b.M
	}
	ca, err := clusterParam(c, "a", na, from)
	if err != nil {
		return err
	}
	cb, err := clusterParam(c, "b", nb, to)
	if err != nil {
		return err
	}
	ids := []int32{}
	count := 0
	for i := range la {
		if la[i] == ca && lb[i] == cb {
			if count < limit {
				ids = append(ids, int32(i))
			}
			count++
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "level": level, "a": ca, "b": cb, "count": count, "ids": ids})
}

// clusterParam parses a cluster id of a version with n clusters.
func clusterParam(c echo.Context, field string, n int, version uint32) (int32, error) {
	v := c.QueryParam(field)
	id, err := strconv.Atoi(v)
	if err != nil || id < 0 || id >= n {
		return 0, fail(http.StatusBadRequest, field, "%s must be a cluster of version %d, 0 to %d, got %q", field, version, n-1, v)
	}
	return int32(id), nil
}

// versionParam parses an Assignment version from the query, def when absent.
func versionParam(c echo.Context, field string, def uint32) (uint32, error) {
	v := c.QueryParam(field)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fail(http.StatusBadRequest, field, "%s must be a version number (0 to %d), got %q", field, uint32(1<<32-1), v)
	}
	return uint32(n), nil
}

// assignmentVersion is version v: the published one from memory, others
// from the run directory through TrainingRun.LoadAssignment.
func (s *Server) assignmentVersion(st *published, v uint32, field string) (*deepercluster.Assignment, error) {
	if v == st.a.Version {
		return st.a, nil
	}
	if v > st.a.Version {
		return nil, fail(http.StatusNotFound, field, "version %d does not exist yet: the latest is %d", v, st.a.Version)
	}
	r := s.getRun()
	if r == nil {
		return nil, fail(http.StatusNotFound, field, "version %d is not held: no run attached, only the latest version %d", v, st.a.Version)
	}
	a, err := r.LoadAssignment(v)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail(http.StatusNotFound, field, "version %d is not in the run directory (the latest is %d)", v, st.a.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("flow: load version %d: %w", v, err)
	}
	if len(a.Sub) != len(st.a.Sub) {
		return nil, fail(http.StatusConflict, field, "version %d has %d images, the latest %d", v, len(a.Sub), len(st.a.Sub))
	}
	return a, nil
}
