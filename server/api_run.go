package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/deepercluster/deepercluster"
)

type progressJSON struct {
	Epoch        int       `json:"epoch"`
	Epochs       int       `json:"epochs"`
	Step         int       `json:"step"`
	Steps        int       `json:"steps"`
	Done         jsonFloat `json:"done"`
	LossSuper    jsonFloat `json:"loss_super"`
	LossSub      jsonFloat `json:"loss_sub"`
	PrecSuper    jsonFloat `json:"prec_super"`
	PrecSub      jsonFloat `json:"prec_sub"`
	ImagesPerSec jsonFloat `json:"images_per_sec"`
}

type metricsJSON struct {
	Version      uint32    `json:"version"`
	Epoch        int       `json:"epoch"`
	StabilityNMI jsonFloat `json:"stability_nmi"`
	LabelNMI     jsonFloat `json:"label_nmi"`
	LabelARI     jsonFloat `json:"label_ari"`
	LabelPurity  jsonFloat `json:"label_purity"`
}

func toMetricsJSON(m *deepercluster.Metrics) *metricsJSON {
	if m == nil {
		return nil
	}
	return &metricsJSON{m.Version, m.Epoch, jsonFloat(m.StabilityNMI), jsonFloat(m.LabelNMI), jsonFloat(m.LabelARI), jsonFloat(m.LabelPurity)}
}

type runJSON struct {
	ID         string `json:"id"`
	Dataset    string `json:"dataset"`
	Images     int    `json:"images"`
	Resolution int    `json:"resolution"`
	// ThumbPx is the largest side thumbnails are served at: the display
	// copies' for a folder of photos, else the resolution.
	ThumbPx  int                     `json:"thumb_px"`
	Labels   bool                    `json:"labels"`
	State    string                  `json:"state"`
	Phase    deepercluster.Phase     `json:"phase"`
	Params   deepercluster.RunParams `json:"params"`
	Progress progressJSON            `json:"progress"`
	Version  uint32                  `json:"version"`
	Started  time.Time               `json:"started"`
	Metrics  *metricsJSON            `json:"metrics"`
	Job      *Job                    `json:"job"`
	Clients  int                     `json:"clients"`
	// Device is what the run trains on (--device): kind, name, memory.
	Device deepercluster.DeviceInfo `json:"device"`
}

func (s *Server) getRunInfo(c echo.Context) error {
	run := s.getRun()
	if run == nil {
		return fail(http.StatusServiceUnavailable, "", "the run is starting")
	}
	info := run.Info()
	s.mu.Lock()
	p := s.progress
	if s.progSeq == 0 {
		p = info.Progress
	}
	met := s.lastMet
	var job *Job
	if s.job != nil {
		j := *s.job
		job = &j
	}
	s.mu.Unlock()
	state := "running"
	switch {
	case p.Phase == deepercluster.PhaseStopped:
		state = "stopped"
	case info.Version == 0:
		state = "clustering"
	}
	return c.JSON(http.StatusOK, runJSON{
		ID: info.ID, Dataset: info.Dataset, Images: info.Images, Resolution: info.Resolution, ThumbPx: s.thumbMaxPx(), Labels: info.Labels,
		State: state, Phase: p.Phase, Params: info.Params,
		Progress: progressJSON{p.Epoch, p.Epochs, p.Step, p.Steps, jsonFloat(p.Done), jsonFloat(p.LossSuper),
			jsonFloat(p.LossSub), jsonFloat(p.PrecSuper), jsonFloat(p.PrecSub), jsonFloat(p.ImagesPerSec)},
		Version: info.Version, Started: info.Started, Metrics: toMetricsJSON(met), Job: job, Clients: s.hub.Clients(),
		Device: info.Device,
	})
}
