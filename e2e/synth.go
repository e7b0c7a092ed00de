package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
	"github.com/gorilla/websocket"
)

// SyntheticRun makes an Assignment of n images in m super-clusters and
// subs sub-clusters (spread evenly over the supers, every one non-empty)
// with long-tailed sizes, and a summary with two tags per sub-cluster. It
// needs no training: it is what the frame-time benchmark draws.
func SyntheticRun(n, m, subs int, seed uint64) (*deepercluster.Assignment, []deepercluster.ClusterSummary) {
	rng := rand.New(rand.NewPCG(seed, 1))
	a := &deepercluster.Assignment{Version: 1, M: m, SubParent: make([]int32, subs),
		Super: make([]int32, n), Sub: make([]int32, n)}
	cum := make([]float64, subs)
	total := 0.0
	for z := range a.SubParent {
		a.SubParent[z] = int32(z % m)
		// Zipf-like within each super-cluster, and super-clusters of
		// unequal weight.
		w := math.Pow(float64(z/m+1), -0.8) * (1 + float64(z%m%7))
		total += w
		cum[z] = total
	}
	for i := 0; i < n; i++ {
		z := i
		if i >= subs {
			z, _ = slices.BinarySearch(cum, rng.Float64()*total)
			z = min(z, subs-1)
		}
		a.Sub[i] = int32(z)
		a.Super[i] = a.SubParent[z]
	}
	_, sizes := a.Sizes()
	sums := make([]deepercluster.ClusterSummary, subs)
	for z := range sums {
		t1 := "concept" + strconv.Itoa(z%m)
		t2 := "tag" + strconv.Itoa(z%97)
		c1 := sizes[z] * 3 / 5
		sums[z] = deepercluster.ClusterSummary{Sub: int32(z), Super: a.SubParent[z], Size: sizes[z],
			TopTags:  []deepercluster.TagCount{{Tag: t1, Count: c1}, {Tag: t2, Count: sizes[z] / 4}},
			TopShare: float64(c1) / math.Max(1, float64(sizes[z]))}
	}
	return a, sums
}

// SyntheticServer serves the client from staticDir and one run's snapshot
// on /ws in the real wire format, plus placeholder thumbnails: the client
// sees what the real server would send, without training.
type SyntheticServer struct {
	Info  deepercluster.RunInfo
	Frame []byte // the encoded snapshot
	Log   *slog.Logger
	fs    http.Handler
	thumb []byte

	mu    sync.Mutex
	conns map[*websocket.Conn]bool
	// Connects counts websocket connections accepted so far.
	Connects int
}

// DropClients closes every open websocket, as a server restart would.
func (s *SyntheticServer) DropClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Connections is the number of websockets accepted so far.
func (s *SyntheticServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Connects
}

// NewSyntheticServer encodes the snapshot of a once.
func NewSyntheticServer(staticDir string, a *deepercluster.Assignment, sums []deepercluster.ClusterSummary, log *slog.Logger) *SyntheticServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	_, subSizes := a.Sizes()
	k := 0
	if a.M > 0 {
		k = len(subSizes) / a.M
	}
	info := deepercluster.RunInfo{ID: "synthetic", Dataset: "synthetic-bench", Images: len(a.Super), Resolution: 32,
		Params:   deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: a.M, K: k, ReclusterEvery: 3, PCADim: 64},
		Progress: deepercluster.Progress{Phase: deepercluster.PhaseIdle}, Version: a.Version, Started: time.Now().UTC()}
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			img.Set(x, y, color.RGBA{uint8(40 + 12*x), uint8(60 + 8*y), 150, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return &SyntheticServer{Info: info, Frame: wire.AppendSnapshot(nil, info, a, sums), Log: log,
		fs: http.FileServer(http.Dir(staticDir)), thumb: buf.Bytes()}
}

func (s *SyntheticServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/ws":
		s.serveWS(w, r)
	case r.URL.Path == "/api/thumbs":
		s.serveThumbs(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/images/"):
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(s.thumb)
	case strings.HasPrefix(r.URL.Path, "/api/"):
		http.Error(w, `{"error":"not served by the synthetic benchmark server"}`, http.StatusNotFound)
	default:
		s.fs.ServeHTTP(w, r)
	}
}

// serveThumbs answers a batch of placeholder thumbnails (a gradient tinted
// by the image id) in the real container, at the px asked for (at most the
// run's resolution), as the real server's GET /api/thumbs does.
func (s *SyntheticServer) serveThumbs(w http.ResponseWriter, r *http.Request) {
	px, _ := strconv.Atoi(r.URL.Query().Get("px"))
	px = min(max(px, 4), s.Info.Resolution)
	var ids []int32
	for _, v := range strings.Split(r.URL.Query().Get("ids"), ",") {
		id, err := strconv.Atoi(v)
		if err != nil || id < 0 || id >= s.Info.Images || len(ids) == wire.MaxThumbBatch {
			http.Error(w, `{"error":"bad ids","field":"ids"}`, http.StatusBadRequest)
			return
		}
		ids = append(ids, int32(id))
	}
	b := &wire.ThumbBatch{Px: px, IDs: ids, Pix: make([]byte, len(ids)*px*px*3)}
	for i, id := range ids {
		t := b.Thumb(i)
		for y := range px {
			for x := range px {
				o := (y*px + x) * 3
				t[o], t[o+1], t[o+2] = uint8(40+200*x/px), uint8(60+150*y/px), uint8(id*37)
			}
		}
	}
	w.Header().Set("Content-Type", wire.ThumbsContentType)
	w.Write(wire.AppendThumbBatch(nil, b))
}

func (s *SyntheticServer) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{WriteBufferSize: 64 << 10}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[*websocket.Conn]bool{}
	}
	s.conns[c] = true
	s.Connects++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	if err := c.WriteMessage(websocket.BinaryMessage, s.Frame); err != nil {
		s.Log.Info("synthetic ws write", "err", err)
		return
	}
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if f, err := wire.DecodeFrame(msg); err == nil && f.Kind == wire.KindRequestSnapshot {
			if err := c.WriteMessage(websocket.BinaryMessage, s.Frame); err != nil {
				return
			}
		}
	}
}
