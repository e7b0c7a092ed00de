package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/deepercluster/deepercluster"
)

// decodeParams reads a recluster request over the run's current
// parameters, so a body may name only what it changes.
func decodeParams(r io.Reader, cur deepercluster.RunParams) (deepercluster.RunParams, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	p := cur
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return p, err
		case errors.Is(err, io.EOF):
			return p, fail(http.StatusBadRequest, "", "empty body: want a JSON object with preset, m, k, recluster_every, pca_dim")
		case errors.As(err, &se):
			return p, fail(http.StatusBadRequest, "", "invalid JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return p, fail(http.StatusBadRequest, te.Field, "%s must be a %s, got a JSON %s", te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return p, fail(http.StatusBadRequest, f, "unknown field %q: want preset, m, k, recluster_every, pca_dim", f)
		}
		return p, fail(http.StatusBadRequest, "", "invalid JSON: %v", err)
	}
	if dec.More() {
		return p, fail(http.StatusBadRequest, "", "trailing data after the JSON object")
	}
	return p, nil
}

func (s *Server) postRecluster(c echo.Context) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fail(http.StatusUnsupportedMediaType, "", "Content-Type %q: want application/json", ct)
	}
	// The body is checked before the run, so a bad request is a 4xx even
	// while the run is starting.
	run := s.getRun()
	var info deepercluster.RunInfo
	if run != nil {
		info = run.Info()
	}
	p, err := decodeParams(c.Request().Body, info.Params)
	if err != nil {
		return err
	}
	if err := p.Validate(s.ds.Len()); err != nil {
		var fe *deepercluster.FieldError
		if errors.As(err, &fe) {
			return fail(http.StatusBadRequest, fe.Field, "%s", fe.Msg)
		}
		return fail(http.StatusBadRequest, "", "%v", err)
	}
	if run == nil {
		return fail(http.StatusServiceUnavailable, "", "the run is starting")
	}
	// One request at a time decides; the trainer's observer calls take
	// only s.mu, so this never waits on the trainer's events.
	s.reclusterMu.Lock()
	defer s.reclusterMu.Unlock()
	s.mu.Lock()
	if j := s.job; j != nil && j.State == "running" {
		jj := *j
		s.mu.Unlock()
		return &apiError{Status: http.StatusConflict, Msg: fmt.Sprintf("reclustering job %d is still running", jj.ID), Job: &jj}
	}
	s.mu.Unlock()
	if err := run.RequestRecluster(p); err != nil {
		var fe *deepercluster.FieldError
		switch {
		case errors.As(err, &fe):
			return fail(http.StatusBadRequest, fe.Field, "%s", fe.Msg)
		case errors.Is(err, deepercluster.ErrReclusterPending), errors.Is(err, deepercluster.ErrTrainingEnded):
			return fail(http.StatusConflict, "", "%v", err)
		}
		return fail(http.StatusServiceUnavailable, "", "recluster: %v", err)
	}
	s.mu.Lock()
	s.jobSeq++
	from := uint32(0)
	if s.state != nil {
		from = s.state.a.Version
	}
	if info.Version > from {
		from = info.Version
	}
	j := &Job{ID: s.jobSeq, Params: p, State: "running", FromVersion: from, Requested: time.Now().UTC()}
	s.job = j
	out := *j
	s.mu.Unlock()
	return c.JSON(http.StatusAccepted, out)
}
