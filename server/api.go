package server

import (
	"bufio"
	"crypto/subtle"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster"
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

// maxQuery is the longest search query or prefix accepted.
const maxQuery = 1024

// Handler is the server's HTTP handler: API, websocket and static files.
func (s *Server) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.countRequests, s.checkHost, s.limitBody)

	e.GET("/healthz", s.healthz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})))
	e.GET("/api/run", s.getRunInfo)
	e.GET("/api/clusters", s.getClusters)
	e.GET("/api/clusters/:super/:sub", s.getCluster)
	e.GET("/api/images/:id/thumb", s.getThumb)
	e.GET("/api/search", s.getSearch)
	e.GET("/api/suggest", s.getSuggest)
	e.POST("/api/recluster", s.postRecluster, s.requireToken)
	e.GET("/api/export", s.getExport)
	e.GET("/ws", s.serveWS, s.requireToken)
	files := staticHandler()
	e.GET("/*", func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			return fail(http.StatusNotFound, "", "no such endpoint: %s %s", c.Request().Method, c.Request().URL.Path)
		}
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	})
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

func (s *Server) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		code := c.Response().Status
		if err != nil {
			var ae *apiError
			var he *echo.HTTPError
			switch {
			case errors.As(err, &ae):
				code = ae.Status
			case errors.As(err, &he):
				code = he.Code
			default:
				code = http.StatusInternalServerError
			}
		}
		route := c.Path()
		if strings.HasPrefix(route, "/api/") || route == "/ws" || route == "/healthz" || route == "/metrics" {
		} else {
			route = "static"
		}
		s.met.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		return err
	}
}

// limitBody refuses bodies over MaxBody: early by Content-Length, and while
// reading for chunked bodies.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.cfg.MaxBody {
			return fail(http.StatusRequestEntityTooLarge, "", "request body of %d bytes, over the limit of %d", r.ContentLength, s.cfg.MaxBody)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxBody)
		return next(c)
	}
}

// checkHost refuses requests that name a host other than loopback while
// the server listens on loopback only: a page whose own name was made to
// resolve to 127.0.0.1 (DNS rebinding) would otherwise be same-origin with
// the server and could read it and steer it.
func (s *Server) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	guard := s.cfg.Addr != "" && isLoopback(s.cfg.Addr)
	return func(c echo.Context) error {
		if h := c.Request().Host; guard && h != "" && !isLoopback(h) {
			return fail(http.StatusForbidden, "host", "host %q is not loopback, and this server listens on loopback only: open it as localhost or 127.0.0.1", h)
		}
		return next(c)
	}
}

// requireToken guards the mutating endpoints and /ws: it checks the token
// when one is configured (browsers cannot set headers on a websocket, so
// the query parameter "token" is accepted too), and refuses a foreign
// Origin even without a token, since any page the user visits can make the
// browser POST to a loopback server.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.Token == "" {
			if !s.checkOrigin(c.Request()) {
				return fail(http.StatusForbidden, "origin", "origin %q is not allowed: start the server with --allow-origin to accept it", c.Request().Header.Get("Origin"))
			}
			return next(c)
		}
		got := c.QueryParam("token")
		if h := c.Request().Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			got = strings.TrimPrefix(h, "Bearer ")
		} else if h := c.Request().Header.Get("X-Token"); h != "" {
			got = h
		}
		if got == "" {
			return fail(http.StatusUnauthorized, "token", "this server requires a token: send Authorization: Bearer <token> or ?token=<token>")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) != 1 {
			return fail(http.StatusForbidden, "token", "wrong token")
		}
		if !s.checkOrigin(c.Request()) {
			return fail(http.StatusForbidden, "origin", "origin %q is not allowed: start the server with --allow-origin to accept it", c.Request().Header.Get("Origin"))
		}
		return next(c)
	}
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
	ID         string                  `json:"id"`
	Dataset    string                  `json:"dataset"`
	Images     int                     `json:"images"`
	Resolution int                     `json:"resolution"`
	Labels     bool                    `json:"labels"`
	State      string                  `json:"state"`
	Phase      deepercluster.Phase     `json:"phase"`
	Params     deepercluster.RunParams `json:"params"`
	Progress   progressJSON            `json:"progress"`
	Version    uint32                  `json:"version"`
	Started    time.Time               `json:"started"`
	Metrics    *metricsJSON            `json:"metrics"`
	Job        *Job                    `json:"job"`
	Clients    int                     `json:"clients"`
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
		ID: info.ID, Dataset: info.Dataset, Images: info.Images, Resolution: info.Resolution, Labels: info.Labels,
		State: state, Phase: p.Phase, Params: info.Params,
		Progress: progressJSON{p.Epoch, p.Epochs, p.Step, p.Steps, jsonFloat(p.Done), jsonFloat(p.LossSuper),
			jsonFloat(p.LossSub), jsonFloat(p.PrecSuper), jsonFloat(p.PrecSub), jsonFloat(p.ImagesPerSec)},
		Version: info.Version, Started: info.Started, Metrics: toMetricsJSON(met), Job: job, Clients: s.hub.Clients(),
	})
}

type subJSON struct {
	Sub      int32                    `json:"sub"`
	Size     int                      `json:"size"`
	TopTags  []deepercluster.TagCount `json:"top_tags"`
	TopShare jsonFloat                `json:"top_share"`
	Keywords []keywordJSON            `json:"keywords"`
}

type keywordJSON struct {
	Tag    string    `json:"tag"`
	Weight jsonFloat `json:"weight"`
}

func toKeywords(ks []deepercluster.Keyword) []keywordJSON {
	out := make([]keywordJSON, len(ks))
	for i, k := range ks {
		out[i] = keywordJSON{k.Tag, jsonFloat(k.Weight)}
	}
	return out
}

// tagQualityJSON is the index's agreement of clusters with the metadata.
type tagQualityJSON struct {
	Tagged         int                  `json:"tagged"`
	Untagged       int                  `json:"untagged"`
	TagNMISuper    jsonFloat            `json:"tag_nmi_super"`
	TagNMISub      jsonFloat            `json:"tag_nmi_sub"`
	TagPuritySuper jsonFloat            `json:"tag_purity_super"`
	TagPuritySub   jsonFloat            `json:"tag_purity_sub"`
	Labels         map[string]jsonFloat `json:"labels,omitempty"`
}

func toTagQuality(q *deepercluster.Quality) *tagQualityJSON {
	if q == nil {
		return nil
	}
	out := &tagQualityJSON{q.Tagged, q.Untagged, jsonFloat(q.TagNMISuper), jsonFloat(q.TagNMISub),
		jsonFloat(q.TagPuritySuper), jsonFloat(q.TagPuritySub), nil}
	if l := q.Labels; l != nil {
		out.Labels = map[string]jsonFloat{
			"nmi_super": jsonFloat(l.NMISuper), "nmi_sub": jsonFloat(l.NMISub),
			"ari_super": jsonFloat(l.ARISuper), "ari_sub": jsonFloat(l.ARISub),
			"purity_super": jsonFloat(l.PuritySuper), "purity_sub": jsonFloat(l.PuritySub),
		}
	}
	return out
}

type superJSON struct {
	Super    int                      `json:"super"`
	Size     int                      `json:"size"`
	TopTags  []deepercluster.TagCount `json:"top_tags"`
	TopShare jsonFloat                `json:"top_share"`
	Subs     []subJSON                `json:"subs"`
}

type clustersJSON struct {
	Version uint32       `json:"version"`
	M       int          `json:"m"`
	Subs    int          `json:"subs"`
	Tagged  bool         `json:"tagged"` // whether the index has summarised this version
	Quality *metricsJSON `json:"quality"`
	// TagQuality is nil until the index has summarised this version.
	TagQuality *tagQualityJSON `json:"tag_quality"`
	Supers     []superJSON     `json:"supers"`
}

// topTagsN is how many tags a super-cluster lists.
const topTagsN = 5

func (s *Server) getClusters(c echo.Context) error {
	st := s.current()
	s.mu.Lock()
	met := s.lastMet
	s.mu.Unlock()
	if st == nil {
		return c.JSON(http.StatusOK, clustersJSON{Supers: []superJSON{}, Quality: toMetricsJSON(met)})
	}
	a := st.a
	_, subSizes := a.Sizes()
	out := clustersJSON{Version: a.Version, M: a.M, Subs: len(a.SubParent), Tagged: st.sums != nil,
		Quality: toMetricsJSON(met), TagQuality: toTagQuality(st.quality)}
	keywords := map[int32][]keywordJSON{}
	if st.quality != nil {
		for _, cq := range st.quality.Subs {
			keywords[cq.ID] = toKeywords(cq.Keywords)
		}
	}
	out.Supers = make([]superJSON, a.M)
	tagSums := make([]map[string]int, a.M)
	for i := range out.Supers {
		out.Supers[i] = superJSON{Super: i, Size: st.supers[i], Subs: []subJSON{}, TopTags: []deepercluster.TagCount{}}
		tagSums[i] = map[string]int{}
	}
	bySub := map[int32]*deepercluster.ClusterSummary{}
	for i := range st.sums {
		bySub[st.sums[i].Sub] = &st.sums[i]
	}
	for j, p := range a.SubParent {
		sj := subJSON{Sub: int32(j), Size: subSizes[j], TopTags: []deepercluster.TagCount{}, Keywords: keywords[int32(j)]}
		if sj.Keywords == nil {
			sj.Keywords = []keywordJSON{}
		}
		if cs := bySub[int32(j)]; cs != nil {
			sj.TopTags = cs.TopTags
			sj.TopShare = jsonFloat(cs.TopShare)
			for _, t := range cs.TopTags {
				tagSums[p][t.Tag] += t.Count
			}
		}
		out.Supers[p].Subs = append(out.Supers[p].Subs, sj)
	}
	for i := range out.Supers {
		for t, n := range tagSums[i] {
			out.Supers[i].TopTags = append(out.Supers[i].TopTags, deepercluster.TagCount{Tag: t, Count: n})
		}
		tt := out.Supers[i].TopTags
		slices.SortFunc(tt, func(x, y deepercluster.TagCount) int {
			if x.Count != y.Count {
				return y.Count - x.Count
			}
			return strings.Compare(x.Tag, y.Tag)
		})
		if len(tt) > topTagsN {
			out.Supers[i].TopTags = tt[:topTagsN]
		}
		if len(tt) > 0 && out.Supers[i].Size > 0 {
			out.Supers[i].TopShare = jsonFloat(float64(tt[0].Count) / float64(out.Supers[i].Size))
		}
	}
	return c.JSON(http.StatusOK, out)
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

type imageJSON struct {
	ID   int      `json:"id"`
	Tags []string `json:"tags"`
}

func (s *Server) getCluster(c echo.Context) error {
	st := s.current()
	if st == nil {
		return fail(http.StatusServiceUnavailable, "", "no clustering yet: the first one is running")
	}
	sup, err := intParam("super", c.Param("super"), 0, st.a.M)
	if err != nil {
		return err
	}
	sub, err := intParam("sub", c.Param("sub"), 0, len(st.a.SubParent))
	if err != nil {
		return err
	}
	if int(st.a.SubParent[sub]) != sup {
		return fail(http.StatusNotFound, "sub", "sub-cluster %d belongs to super-cluster %d, not %d", sub, st.a.SubParent[sub], sup)
	}
	page := 0
	if v := c.QueryParam("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			return fail(http.StatusBadRequest, "page", "page must be a non-negative integer, got %q", v)
		}
	}
	ids := st.members[sub]
	per := s.cfg.PageSize
	pages := (len(ids) + per - 1) / per
	if page > 0 && page >= pages {
		return fail(http.StatusNotFound, "page", "page %d of a cluster with %d pages", page, pages)
	}
	lo := min(page*per, len(ids))
	hi := min(lo+per, len(ids))
	imgs := make([]imageJSON, 0, hi-lo)
	for _, id := range ids[lo:hi] {
		tags := s.ds.Meta(int(id)).Tags
		if tags == nil {
			tags = []string{}
		}
		imgs = append(imgs, imageJSON{ID: int(id), Tags: tags})
	}
	out := map[string]any{
		"version": st.a.Version, "super": sup, "sub": sub, "size": len(ids),
		"page": page, "pages": pages, "per_page": per, "images": imgs,
		"keywords": []keywordJSON{}, "top_tags": []deepercluster.TagShare{},
		"quality": s.clusterQuality(ids),
	}
	if st.quality != nil {
		for _, cq := range st.quality.Subs {
			if cq.ID != int32(sub) {
				continue
			}
			out["keywords"], out["top_tags"] = toKeywords(cq.Keywords), cq.TopTags
			if len(cq.TopTags) > 0 {
				out["quality"].(map[string]jsonFloat)["top_tag_share"] = jsonFloat(cq.TopTags[0].Share)
			}
			break
		}
	}
	return c.JSON(http.StatusOK, out)
}

// clusterQuality gives the figures the UI's cluster panel lists: the
// cluster's share of the dataset and, where the dataset has labels, the
// purity of the cluster (share of its most common label).
func (s *Server) clusterQuality(ids []int32) map[string]jsonFloat {
	q := map[string]jsonFloat{"dataset_share": jsonFloat(float64(len(ids)) / float64(max(1, s.ds.Len())))}
	counts := map[int]int{}
	best := 0
	for _, id := range ids {
		l, ok := s.ds.Label(int(id))
		if !ok {
			return q
		}
		counts[l]++
		best = max(best, counts[l])
	}
	if len(ids) > 0 {
		q["label_purity"] = jsonFloat(float64(best) / float64(len(ids)))
	}
	return q
}

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
		case errors.Is(err, deepercluster.ErrReclusterPending):
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

// getExport streams every image's clusters and tags, so a million rows
// never sit in memory as one answer.
func (s *Server) getExport(c echo.Context) error {
	format := c.QueryParam("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "jsonl" {
		return fail(http.StatusBadRequest, "format", "format %q: want csv or jsonl", format)
	}
	st := s.current()
	if st == nil {
		return fail(http.StatusServiceUnavailable, "", "no clustering yet: the first one is running")
	}
	a := st.a
	resp := c.Response()
	if format == "csv" {
		resp.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		resp.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	}
	resp.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="clusters-v%d.%s"`, a.Version, format))
	resp.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(resp, 64<<10)
	ctx := c.Request().Context()
	type row struct {
		ID    int      `json:"id"`
		Super int32    `json:"super"`
		Sub   int32    `json:"sub"`
		Tags  []string `json:"tags"`
	}
	var cw *csv.Writer
	var je *json.Encoder
	if format == "csv" {
		cw = csv.NewWriter(bw)
		cw.Write([]string{"id", "super", "sub", "tags"})
	} else {
		je = json.NewEncoder(bw)
	}
	for i := range a.Super {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil // the client went away
		}
		tags := s.ds.Meta(i).Tags
		if cw != nil {
			// Tags may hold spaces and commas; "|" separates them.
			err := cw.Write([]string{strconv.Itoa(i), strconv.Itoa(int(a.Super[i])), strconv.Itoa(int(a.Sub[i])), strings.Join(tags, "|")})
			if err != nil {
				return nil
			}
		} else {
			if tags == nil {
				tags = []string{}
			}
			if err := je.Encode(row{i, a.Super[i], a.Sub[i], tags}); err != nil {
				return nil
			}
		}
	}
	if cw != nil {
		cw.Flush()
	}
	if err := bw.Flush(); err != nil {
		return nil
	}
	resp.Flush()
	return nil
}
