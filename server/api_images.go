package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
)

// imageID reads the {id} of an /api/images/{id} route. An id that looks
// like a path is not an image: 404, saying nothing about how it was read.
func (s *Server) imageID(c echo.Context) (int, error) {
	if raw := c.Param("id"); strings.ContainsAny(raw, "./\\%\x00") {
		return 0, fail(http.StatusNotFound, "id", "no image %q", raw)
	}
	return intParam("id", c.Param("id"), 0, s.ds.Len())
}

// getThumb answers the thumbnail of one image, from a cache, with an ETag
// so browsers revalidate instead of fetching it again: ?px=N asks for N
// pixels on the longest side at most (renderThumb), without it the largest
// the dataset keeps. A JPEG for datasets with display copies, else a PNG.
func (s *Server) getThumb(c echo.Context) error {
	id, err := s.imageID(c)
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

type autoTagJSON struct {
	Concept string    `json:"concept"`
	Prob    jsonFloat `json:"prob"`
}

// imageInfoJSON is GET /api/images/{id}: an image's metadata and where the
// published clustering puts it.
type imageInfoJSON struct {
	ID          int           `json:"id"`
	PhotoID     string        `json:"photo_id"`
	Title       string        `json:"title"`
	Description string        `json:"description"`
	User        string        `json:"user"`
	Tags        []string      `json:"tags"`
	MachineTags []string      `json:"machine_tags"`
	AutoTags    []autoTagJSON `json:"autotags"`
	Taken       *time.Time    `json:"taken"`
	Device      string        `json:"device"`
	// Label is the dataset's class, null where it has none.
	Label *int `json:"label"`
	// Super and Sub are null before the first clustering.
	Super   *int32    `json:"super"`
	Sub     *int32    `json:"sub"`
	Version uint32    `json:"version"`
	Note    *noteJSON `json:"note,omitempty"`
	Thumb   string    `json:"thumb"`
	// Resolution is the side of the image in pixels.
	Resolution int `json:"resolution"`
}

func (s *Server) getImage(c echo.Context) error {
	id, err := s.imageID(c)
	if err != nil {
		return err
	}
	m := s.ds.Meta(id)
	out := imageInfoJSON{ID: id, PhotoID: m.PhotoID, Title: m.Title, Description: m.Description, User: m.User,
		Tags: nonNil(m.Tags), MachineTags: nonNil(m.MachineTags), AutoTags: []autoTagJSON{}, Device: m.Device,
		Thumb: "/api/images/" + strconv.Itoa(id) + "/thumb", Resolution: s.ds.Resolution()}
	for _, t := range m.AutoTags {
		out.AutoTags = append(out.AutoTags, autoTagJSON{t.Concept, jsonFloat(t.Prob)})
	}
	if !m.Taken.IsZero() {
		t := m.Taken.UTC()
		out.Taken = &t
	}
	if l, ok := s.ds.Label(id); ok {
		out.Label = &l
	}
	if st := s.current(); st != nil {
		sup, sub := st.a.Super[id], st.a.Sub[id]
		out.Super, out.Sub, out.Version = &sup, &sub, st.a.Version
		if n, ok := s.notes.get(sub); ok && n.Version == st.a.Version {
			out.Note = toNoteJSON(n)
		}
	}
	return c.JSON(http.StatusOK, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Bounds of GET /api/images/{id}/similar?k=.
const (
	defaultSimilar = 12
	maxSimilar     = 1000
)

type similarJSON struct {
	ID       int       `json:"id"`
	Distance jsonFloat `json:"distance"`
	Super    int32     `json:"super"`
	Sub      int32     `json:"sub"`
}

// getSimilar answers the k images nearest to image id in the feature space
// of the latest clustering (exact search, Euclidean distance between the
// L2-normalised PCA features: 0 is identical, 2 opposite), with their
// clusters in the published version.
func (s *Server) getSimilar(c echo.Context) error {
	id, err := s.imageID(c)
	if err != nil {
		return err
	}
	k := defaultSimilar
	if v := c.QueryParam("k"); v != "" {
		if k, err = strconv.Atoi(v); err != nil || k < 1 || k > maxSimilar {
			return fail(http.StatusBadRequest, "k", "k must be an integer in [1,%d], got %q", maxSimilar, v)
		}
	}
	st := s.current()
	idx := s.similarIndex()
	if st == nil || idx == nil {
		return fail(http.StatusServiceUnavailable, "", "no features yet: similar images use the features of a clustering made since the server started, and the next reclustering brings them")
	}
	nbs, err := idx.knn.Search(idx.f.Row(id), k, id)
	if err != nil {
		return err
	}
	out := make([]similarJSON, len(nbs))
	for i, nb := range nbs {
		out[i] = similarJSON{nb.Index, jsonFloat(nb.Dist), st.a.Super[nb.Index], st.a.Sub[nb.Index]}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"id": id, "k": k, "version": st.a.Version, "features_version": idx.f.Version,
		"space": "pca-whitened-l2", "dim": idx.f.Dim, "images": out,
	})
}

// Batch thumbnails: GET /api/thumbs?ids=1,2,3&px=N answers them all in one
// body, a wire.ThumbBatch (its doc has the layout). px is clamped
// to [minThumbPx, the largest side the dataset keeps]: its display copies
// where it has them (a folder of photos; the centre square of each, which
// is what a wall tile shows), else its model resolution. The server never
// sends more than the dataset has, and the client asks for what the screen
// shows. Smaller sides are box-filtered from the dataset's pixels.
const (
	ThumbsContentType = wire.ThumbsContentType
	maxThumbBatch     = wire.MaxThumbBatch
	minThumbPx        = 4
)

func (s *Server) getThumbs(c echo.Context) error {
	raw := c.QueryParam("ids")
	if strings.TrimSpace(raw) == "" {
		return fail(http.StatusBadRequest, "ids", "ids is empty: want image ids separated by commas")
	}
	parts := strings.Split(raw, ",")
	if len(parts) > maxThumbBatch {
		return fail(http.StatusBadRequest, "ids", "%d ids, over the limit of %d per request", len(parts), maxThumbBatch)
	}
	n := s.ds.Len()
	ids := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fail(http.StatusBadRequest, "ids", "ids[%d] = %q is not an integer", i, p)
		}
		if v < 0 || v >= n {
			return fail(http.StatusBadRequest, "ids", "ids[%d] = %d outside [0,%d)", i, v, n)
		}
		ids[i] = v
	}
	res := s.thumbMaxPx()
	display, _ := s.ds.(deepercluster.DisplayImages)
	if display != nil && display.DisplaySize() == 0 {
		display = nil
	}
	px := min(res, s.ds.Resolution())
	if v := c.QueryParam("px"); v != "" {
		var err error
		if px, err = strconv.Atoi(v); err != nil || px < 1 {
			return fail(http.StatusBadRequest, "px", "px must be a positive integer, got %q", v)
		}
		px = min(max(px, minThumbPx), res, wire.MaxThumbPx)
	}
	per := px * px * 3
	if len(ids)*per > wire.MaxThumbBatchBytes {
		return fail(http.StatusBadRequest, "ids", "%d thumbnails of %d px are over %d MiB: ask for at most %d at this size",
			len(ids), px, wire.MaxThumbBatchBytes>>20, wire.MaxThumbBatchBytes/per)
	}
	b := &wire.ThumbBatch{Px: px, IDs: make([]int32, len(ids)), Pix: make([]byte, len(ids)*per)}
	src := make([]byte, deepercluster.ImageBytes(s.ds.Resolution()))
	for i, id := range ids {
		b.IDs[i] = int32(id)
		if display != nil {
			if err := displaySquare(b.Thumb(i), px, display, id); err != nil {
				return err
			}
			continue
		}
		if err := s.ds.Image(id, src); err != nil {
			return err
		}
		downsample(b.Thumb(i), px, src, res)
	}
	out := wire.AppendThumbBatch(nil, b)
	h := c.Response().Header()
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("X-Thumb-Px", strconv.Itoa(px))
	return c.Blob(http.StatusOK, ThumbsContentType, out)
}

// downsample box-filters a res x res RGB image into dst, px x px (px <= res).
func downsample(dst []byte, px int, src []byte, res int) {
	if px == res {
		copy(dst, src[:px*px*3])
		return
	}
	for y := range px {
		y0, y1 := y*res/px, max((y+1)*res/px, y*res/px+1)
		for x := range px {
			x0, x1 := x*res/px, max((x+1)*res/px, x*res/px+1)
			var r, g, b, cnt int
			for sy := y0; sy < y1; sy++ {
				row := src[(sy*res+x0)*3 : (sy*res+x1)*3]
				for j := 0; j < len(row); j += 3 {
					r += int(row[j])
					g += int(row[j+1])
					b += int(row[j+2])
					cnt++
				}
			}
			o := (y*px + x) * 3
			dst[o], dst[o+1], dst[o+2] = byte((r+cnt/2)/cnt), byte((g+cnt/2)/cnt), byte((b+cnt/2)/cnt)
		}
	}
}
