package server

import (
	"github.com/deepercluster/deepercluster"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus collectors, all in the server's own
// registry (never the global one), so two servers in one process (tests)
// do not collide.
type metrics struct {
	requests     *prometheus.CounterVec
	version      prometheus.Gauge
	epoch        prometheus.Gauge
	loss         *prometheus.GaugeVec
	precision    *prometheus.GaugeVec
	imagesPerSec prometheus.Gauge
	quality      *prometheus.GaugeVec
	indexSeconds prometheus.Histogram
	wsFrames     *prometheus.CounterVec
	wsBytes      prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, hub *Hub) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deepercluster_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deepercluster_assignment_version", Help: "Latest Assignment version sent to clients.",
		}),
		epoch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deepercluster_epoch", Help: "Current training epoch.",
		}),
		loss: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deepercluster_loss", Help: "Running training loss by head.",
		}, []string{"head"}),
		precision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deepercluster_precision", Help: "Running top-1 precision by head.",
		}, []string{"head"}),
		imagesPerSec: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deepercluster_images_per_second", Help: "Training throughput.",
		}),
		quality: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deepercluster_cluster_quality", Help: "Quality of the latest clustering (NaN when not measurable).",
		}, []string{"measure"}),
		indexSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "deepercluster_index_update_seconds", Help: "Time to index a new Assignment.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		wsFrames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deepercluster_ws_frames_sent_total", Help: "Websocket frames written, by kind.",
		}, []string{"kind"}),
		wsBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deepercluster_ws_bytes_sent_total", Help: "Websocket payload bytes written.",
		}),
	}
	reg.MustRegister(m.requests, m.version, m.epoch, m.loss, m.precision, m.imagesPerSec,
		m.quality, m.indexSeconds, m.wsFrames, m.wsBytes,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "deepercluster_ws_clients", Help: "Connected websocket clients.",
		}, func() float64 { return float64(hub.Clients()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "deepercluster_ws_frames_dropped_total", Help: "Frames dropped for slow websocket clients.",
		}, func() float64 { return float64(hub.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "deepercluster_ws_resyncs_total", Help: "Snapshots re-sent to websocket clients that fell behind or asked.",
		}, func() float64 { return float64(hub.Resyncs()) }),
		collectors.NewGoCollector(),
	)
	return m
}

func (m *metrics) observeProgress(p deepercluster.Progress) {
	m.epoch.Set(float64(p.Epoch))
	m.loss.WithLabelValues("super").Set(p.LossSuper)
	m.loss.WithLabelValues("sub").Set(p.LossSub)
	m.precision.WithLabelValues("super").Set(p.PrecSuper)
	m.precision.WithLabelValues("sub").Set(p.PrecSub)
	m.imagesPerSec.Set(p.ImagesPerSec)
}

func (m *metrics) observeMetrics(q deepercluster.Metrics) {
	m.quality.WithLabelValues("stability_nmi").Set(q.StabilityNMI)
	m.quality.WithLabelValues("label_nmi").Set(q.LabelNMI)
	m.quality.WithLabelValues("label_ari").Set(q.LabelARI)
	m.quality.WithLabelValues("label_purity").Set(q.LabelPurity)
}
