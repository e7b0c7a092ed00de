// Package server is the explorer's HTTP side: a JSON API over the run and
// its index, a websocket stream of cluster assignments in the binary frames
// of package wire, and the embedded browser client.
//
// The server depends on the trainer and the index only through the small
// TrainingRun and Searcher interfaces below, and receives the trainer's events as a
// deepercluster.Observer that never blocks: events are coalesced into
// "latest" mailboxes and handled on the server's own goroutines, so the
// trainer and the websocket clients never wait for each other.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/par"
	"github.com/deepercluster/deepercluster/wire"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// TrainingRun is what the server needs of a training run (*trainer.Run
// implements it). It is not named Run: that is the method that does the
// server's own background work.
type TrainingRun interface {
	// Info describes the run and where it stands.
	Info() deepercluster.RunInfo
	// Assignment is the latest Assignment, nil before the first.
	Assignment() *deepercluster.Assignment
	// RequestRecluster asks for a reclustering with new parameters at the
	// next safe point; it must not block for long. It fails with
	// deepercluster.ErrTrainingEnded when nothing would apply it any more
	// (the API's 409).
	RequestRecluster(deepercluster.RunParams) error
	// History is what the run has measured since it began, restarts
	// included: every client gets it on connect, so its charts show the
	// whole run.
	History() deepercluster.History
	// LoadAssignment reads an older version from the run directory (for
	// the flow between versions); an error wrapping fs.ErrNotExist when
	// the directory does not hold it.
	LoadAssignment(version uint32) (*deepercluster.Assignment, error)
}

// Searcher is what the server needs of the index (*index.Index
// implements it). Update runs on the server's own goroutine after each
// Assignment; the others serve requests. Errors that carry a
// *deepercluster.FieldError become 400 answers naming the field, other
// deepercluster.ErrBadQuery errors 400, deepercluster.ErrNotReady 503.
type Searcher interface {
	Update(ctx context.Context, a *deepercluster.Assignment) (deepercluster.UpdateStats, error)
	// Summaries describes every sub-cluster of the indexed Assignment
	// with its n top tags.
	Summaries(n int) []deepercluster.ClusterSummary
	Quality(ctx context.Context, n int) (*deepercluster.Quality, error)
	Search(ctx context.Context, q deepercluster.Query) (*deepercluster.SearchResult, error)
	Suggest(ctx context.Context, prefix string, n int) ([]deepercluster.TagCount, error)
}

// summaryTags is how many top tags each cluster summary carries.
const summaryTags = 5

// Config holds what the server is started with.
type Config struct {
	// Addr is where it listens; a non-loopback address requires a token.
	Addr string
	// Token guards POST endpoints and /ws. Empty: none on loopback, a
	// generated one elsewhere (see Server.Token).
	Token string
	// AllowOrigins are websocket origins accepted besides the server's own
	// ("*" accepts any).
	AllowOrigins []string
	// MaxBody is the largest request body in bytes (default 64 KiB).
	MaxBody int64
	// MaxExportBody is the largest body of POST /api/export, a selection
	// of image ids (default 16 MiB: a lasso of a million ids as JSON).
	MaxExportBody int64
	// QueueFrames and QueueBytes bound each websocket client's queue
	// (defaults 64 frames, 64 MiB).
	QueueFrames int
	QueueBytes  int
	// ProgressEvery is the least time between progress frames (default
	// 100 ms: at most 10 a second).
	ProgressEvery time.Duration
	// PingEvery is the websocket keepalive period (default 20 s); a client
	// that does not answer within twice that is dropped.
	PingEvery time.Duration
	// WriteTimeout bounds one websocket write (default 30 s).
	WriteTimeout time.Duration
	// ThumbCache is how many encoded thumbnails are kept (default 4096).
	ThumbCache int
	// PageSize is the number of images per page of a cluster (default 100).
	PageSize int
	// LayoutThreads is the number of goroutines that compute the 2D map
	// after each reclustering, once the run has one (default 1: it runs
	// beside training and must not slow it down).
	LayoutThreads int
	// FirstLayoutThreads is the number of goroutines of the run's first
	// map, which clients have nothing in place of: it runs at normal
	// priority and holds training (HoldTraining) until it is published,
	// fails or is cancelled, so it has the cores to itself but for
	// requests (default par.Threads(), the kernels' threads; least
	// LayoutThreads). On 1 thread beside training, the first map of
	// 1,000,000 images on 2 cores took 353 s (kNN graph and embedding);
	// on 2 threads with training held, 197-234 s (`make bench-start`,
	// docs/PERFORMANCE.md). Searches share the cores with it: bench-load's
	// window, which includes the first map of 100,000 images, gave search
	// p99 26.9 ms.
	FirstLayoutThreads int
	// LayoutEpochs overrides the layout's number of epochs (0: layout2d's
	// DefaultEpochs for the number of images, and its WarmEpochs for a
	// map started from the previous version's).
	LayoutEpochs int
	// DataDir is the run directory, where the users' cluster notes are
	// kept (NotesFile); empty keeps them in memory only.
	DataDir string
}

func (c *Config) defaults() {
	if c.MaxBody <= 0 {
		c.MaxBody = 64 << 10
	}
	if c.MaxExportBody <= 0 {
		c.MaxExportBody = 16 << 20
	}
	if c.QueueFrames <= 0 {
		c.QueueFrames = 64
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 64 << 20
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 100 * time.Millisecond
	}
	if c.PingEvery <= 0 {
		c.PingEvery = 20 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.LayoutThreads <= 0 {
		c.LayoutThreads = 1
	}
	if c.FirstLayoutThreads <= 0 {
		c.FirstLayoutThreads = par.Threads()
	}
	c.FirstLayoutThreads = max(c.FirstLayoutThreads, c.LayoutThreads)
	if c.ThumbCache <= 0 {
		c.ThumbCache = 4096
	}
	if c.PageSize <= 0 {
		c.PageSize = 100
	}
}

// Server serves one run. Create it with New, hand it to the trainer as its
// Observer (it is a deepercluster.FeatureObserver too), attach the run with SetRun, then call Run (background work)
// and serve Handler.
type Server struct {
	cfg    Config
	ds     deepercluster.Dataset
	search Searcher
	log    *slog.Logger
	hub    *Hub
	reg    *prometheus.Registry
	met    *metrics
	thumbs *thumbCache
	notes  *noteStore
	wake   chan struct{} // an event is waiting in a mailbox
	// pubMu orders changes of the published state with the hub's base, so
	// an older version's late summaries never replace a newer snapshot.
	pubMu sync.Mutex
	// reclusterMu makes concurrent recluster requests decide one at a time.
	reclusterMu sync.Mutex
	// saveMu orders writes of the features file; bg counts the goroutines
	// that read or write it, which Run waits for.
	saveMu sync.Mutex
	bg     sync.WaitGroup
	// layoutMu orders changes of the published layout with the hub's.
	layoutMu sync.Mutex

	mu    sync.Mutex
	run   TrainingRun
	pendA *deepercluster.Assignment // mailbox: newest assignment not yet handled
	pendF *deepercluster.Features   // mailbox: newest features not yet indexed
	// pendFromDisk: pendF was read back from the run directory.
	pendFromDisk bool
	similar      *similarIndex // nil before the first features
	progress     deepercluster.Progress
	progSeq      uint64 // bumps with every OnProgress
	metricsQ     []deepercluster.Metrics
	lastMet      *deepercluster.Metrics
	state        *published // what clients were last sent
	job          *Job
	jobSeq       int
	closing      bool
	conns        map[*websocket.Conn]struct{}
	layout       *deepercluster.Layout // the published 2D map, nil before the first
	layoutFrame  []byte                // its Layout frame (GET /api/layout)
	// layoutBusy: a layout job is under way; layoutNext the newest
	// features that wait for it to end (older ones are dropped unlaid).
	layoutBusy bool
	layoutNext *deepercluster.Features
	// running: Run is doing the background work (only then can a map
	// come, so only then is training held for one).
	running bool
	// trainHold is closed when training, held for the run's first map
	// (HoldTraining), may go on; nil while nothing is held. holdVersion
	// is the version whose map it waits for.
	trainHold   chan struct{}
	holdVersion uint32
}

// published is the assignment the clients hold, with what is derived from
// it for the HTTP API. It is immutable once built.
type published struct {
	a       *deepercluster.Assignment
	sums    []deepercluster.ClusterSummary // nil until the index has them
	quality *deepercluster.Quality         // nil until the index has it
	members [][]int32                      // image ids of each sub-cluster
	supers  []int                          // size of each super-cluster
}

// Job is a reclustering asked for through the API.
type Job struct {
	ID     int                     `json:"id"`
	Params deepercluster.RunParams `json:"params"`
	State  string                  `json:"state"` // "running", "done" or "failed"
	// Error says why a job failed (training stopped before it ran).
	Error       string     `json:"error,omitempty"`
	FromVersion uint32     `json:"from_version"`
	Version     uint32     `json:"version,omitempty"` // the version it produced
	Requested   time.Time  `json:"requested"`
	Finished    *time.Time `json:"finished,omitempty"`
}

// New makes a server for dataset ds with an optional searcher (nil: search
// endpoints answer 503).
func New(cfg Config, ds deepercluster.Dataset, search Searcher, log *slog.Logger) (*Server, error) {
	if ds == nil {
		return nil, errors.New("server: no dataset")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.defaults()
	if cfg.Token == "" && cfg.Addr != "" && !isLoopback(cfg.Addr) {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("server: generate token: %w", err)
		}
		cfg.Token = hex.EncodeToString(b[:])
	}
	if cfg.DataDir != "" {
		// Left by writes a crash interrupted; nothing of ours writes yet.
		if err := RemoveInterruptedWrites(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	notes, err := loadNotes(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		notes:  notes,
		cfg:    cfg,
		ds:     ds,
		search: search,
		log:    log,
		hub:    NewHub(cfg.QueueFrames, cfg.QueueBytes),
		reg:    prometheus.NewRegistry(),
		thumbs: newThumbCache(cfg.ThumbCache),
		wake:   make(chan struct{}, 1),
		conns:  map[*websocket.Conn]struct{}{},
	}
	s.met = newMetrics(s.reg, s.hub)
	return s, nil
}

// isLoopback says whether addr (host:port) only listens on loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Token is the token clients must present (empty: none required).
func (s *Server) Token() string { return s.cfg.Token }

// Hub is the server's websocket fan-out.
func (s *Server) Hub() *Hub { return s.hub }

// Registry is the server's Prometheus registry (served on /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// SetRun attaches the training run; until then /api/run answers 503.
//
// The latest reclustering's metrics are seeded from the run's history
// (history.log of a resumed run), so that GET /api/run and /metrics have
// them at once after a restart instead of null until the next
// reclustering, which at a million images is many minutes away.
func (s *Server) SetRun(r TrainingRun) {
	var last *deepercluster.Metrics
	if r != nil {
		if h := r.History(); len(h.Metrics) > 0 {
			m := h.Metrics[len(h.Metrics)-1]
			last = &m
		}
	}
	s.mu.Lock()
	s.run = r
	seed := last != nil && s.lastMet == nil
	if seed {
		s.lastMet = last
	}
	s.mu.Unlock()
	if seed {
		s.met.observeMetrics(*last)
	}
	s.signal()
}

func (s *Server) getRun() TrainingRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run
}

func (s *Server) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// OnProgress implements deepercluster.Observer: it only stores the value.
func (s *Server) OnProgress(p deepercluster.Progress) {
	s.mu.Lock()
	s.progress = p
	s.progSeq++
	s.mu.Unlock()
}

// OnAssignment implements deepercluster.Observer: the newest version
// replaces any not yet handled, so a burst costs one delta.
func (s *Server) OnAssignment(a *deepercluster.Assignment) {
	if a == nil {
		return
	}
	s.mu.Lock()
	if s.pendA == nil || a.Version >= s.pendA.Version {
		s.pendA = a
	}
	s.mu.Unlock()
	s.signal()
}

// OnMetrics implements deepercluster.Observer.
func (s *Server) OnMetrics(m deepercluster.Metrics) {
	s.mu.Lock()
	if len(s.metricsQ) < 64 {
		s.metricsQ = append(s.metricsQ, m)
	}
	s.mu.Unlock()
	s.signal()
}

// info is the run's info, or what the server knows without a run.
func (s *Server) info() deepercluster.RunInfo {
	if r := s.getRun(); r != nil {
		return r.Info()
	}
	return deepercluster.RunInfo{Images: s.ds.Len(), Resolution: s.ds.Resolution()}
}

// Run does the server's background work until ctx is done: it turns
// assignments into snapshot and delta frames, updates the index, and sends
// progress (at most one frame per ProgressEvery) and metrics.
func (s *Server) Run(ctx context.Context) error {
	idx := make(chan *deepercluster.Assignment, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.indexLoop(ctx, idx)
	}()
	defer wg.Wait()
	defer s.bg.Wait()
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	// First of all on the way out: no map comes any more, so training
	// held for one goes on (before the layout goroutines are waited for).
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		s.releaseTraining()
	}()

	tick := time.NewTicker(s.cfg.ProgressEvery)
	defer tick.Stop()
	var sentSeq uint64
	// Before the first assignment, new clients get the run info; and from
	// the start the run's history.
	s.hub.PublishBase(wire.AppendRunInfo(nil, s.info()), nil)
	s.refreshHistory()
	if r := s.getRun(); r != nil {
		if a := r.Assignment(); a != nil {
			s.OnAssignment(a)
		}
	}
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
			s.releaseTraining()
			// Features that came with the last events (a run closing
			// delivers what it queued) are still indexed and saved.
			s.takeFeatures(ctx)
			return nil
		case <-s.wake:
		case <-tick.C:
		}
		s.mu.Lock()
		a := s.pendA
		s.pendA = nil
		mets := s.metricsQ
		s.metricsQ = nil
		p, seq := s.progress, s.progSeq
		s.mu.Unlock()

		s.takeFeatures(ctx)
		if a != nil {
			if err := s.publishAssignment(a); err != nil {
				s.log.Error("publish assignment", "version", a.Version, "err", err)
			} else if s.search != nil {
				// Latest wins: replace a version the index has not started.
				select {
				case <-idx:
				default:
				}
				idx <- a
			}
		}
		for _, m := range mets {
			s.mu.Lock()
			mm := m
			s.lastMet = &mm
			s.mu.Unlock()
			s.met.observeMetrics(m)
			s.hub.PublishMetrics(wire.AppendMetrics(nil, wire.RunHash(s.info().ID), m))
		}
		if seq != sentSeq || len(mets) > 0 {
			s.refreshHistory()
		}
		if seq != sentSeq {
			sentSeq = seq
			s.met.observeProgress(p)
			s.hub.PublishProgress(wire.AppendProgress(nil, wire.RunHash(s.info().ID), s.version(), p))
			if p.Phase == deepercluster.PhaseStopped {
				s.failJob("training stopped before the reclustering ran")
			}
		}
	}
}

// refreshHistory keeps the run's history as a start frame for new
// clients (those already connected follow the live frames).
func (s *Server) refreshHistory() {
	r := s.getRun()
	if r == nil {
		return
	}
	h := r.History()
	s.hub.SetHistory(wire.AppendHistory(nil, wire.RunHash(s.info().ID), s.version(), &h))
}

// failJob ends a running job that nothing will apply any more.
func (s *Server) failJob(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.job; j != nil && j.State == "running" {
		now := time.Now()
		j.State, j.Error, j.Finished = "failed", reason, &now
	}
}

func (s *Server) version() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		return 0
	}
	return s.state.a.Version
}

// current is the published state, nil before the first assignment.
func (s *Server) current() *published {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// publishAssignment sends a new version to every client: a delta from the
// version they hold when it fits, else a snapshot.
func (s *Server) publishAssignment(a *deepercluster.Assignment) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if len(a.Super) != s.ds.Len() {
		return fmt.Errorf("assignment version %d has %d images, the dataset %d", a.Version, len(a.Super), s.ds.Len())
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	prev := s.current()
	if prev != nil && a.Version <= prev.a.Version {
		return nil // already sent
	}
	st := derive(a, nil)
	if prev == nil && s.similarIndex() == nil {
		s.restoreFeatures(a.Version)
	}
	if err := s.notes.follow(prev, st); err != nil {
		s.log.Error("cluster notes", "version", a.Version, "err", err)
	}
	info := s.info()
	info.Version = a.Version
	snap := wire.AppendSnapshot(nil, info, a, nil)
	var update []byte
	if prev != nil {
		d, err := deepercluster.DiffAssignments(prev.a, a)
		if err == nil {
			update = wire.AppendDelta(nil, wire.RunHash(info.ID), &d)
		}
	}
	// A job is done once a version made with its parameters arrives (a
	// periodic reclustering already under way does not count).
	runParams := info.Params
	s.mu.Lock()
	s.state = st
	if s.job != nil && s.job.State == "running" && a.Version > s.job.FromVersion && runParams == s.job.Params {
		now := time.Now()
		s.job.State, s.job.Version, s.job.Finished = "done", a.Version, &now
	}
	s.mu.Unlock()
	s.hub.PublishBase(snap, update)
	if update != nil {
		// A delta carries no run info: the parameters in force may have
		// changed with this version (a recluster request), and the page's
		// header shows them.
		s.hub.Publish(wire.AppendRunInfo(nil, info))
	}
	s.met.version.Set(float64(a.Version))
	return nil
}

// derive builds the lookups the HTTP API needs from an assignment.
func derive(a *deepercluster.Assignment, sums []deepercluster.ClusterSummary) *published {
	supers, subs := a.Sizes()
	members := make([][]int32, len(subs))
	flat := make([]int32, len(a.Sub))
	off := 0
	for j, n := range subs {
		members[j] = flat[off : off : off+n]
		off += n
	}
	for i, z := range a.Sub {
		members[z] = append(members[z], int32(i))
	}
	return &published{a: a, sums: sums, members: members, supers: supers}
}

// indexLoop updates the index with each new assignment, then sends the
// cluster summaries it computed.
func (s *Server) indexLoop(ctx context.Context, in <-chan *deepercluster.Assignment) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-in:
			start := time.Now()
			if _, err := s.search.Update(ctx, a); err != nil {
				if ctx.Err() == nil {
					s.log.Error("index update", "version", a.Version, "err", err)
				}
				continue
			}
			sums := s.search.Summaries(summaryTags)
			q, err := s.search.Quality(ctx, summaryTags)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("index quality", "version", a.Version, "err", err)
			}
			s.met.indexSeconds.Observe(time.Since(start).Seconds())
			s.pubMu.Lock()
			s.mu.Lock()
			cur := s.state
			if cur == nil || cur.a != a {
				s.mu.Unlock()
				s.pubMu.Unlock()
				continue // a newer version is on its way to the index
			}
			st := *cur
			st.sums, st.quality = sums, q
			s.state = &st
			s.mu.Unlock()
			info := s.info()
			info.Version = a.Version
			s.hub.SetBase(wire.AppendSnapshot(nil, info, a, sums))
			s.hub.Publish(wire.AppendSummaries(nil, wire.RunHash(info.ID), a.Version, sums))
			s.pubMu.Unlock()
		}
	}
}
