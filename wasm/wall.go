//go:build js && wasm

package main

import (
	"math"
	"strings"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
	"github.com/deepercluster/deepercluster/wire"
)

// The photo wall: a sub-cluster cell large enough on screen fills with its
// images (ui.LayoutWall), drawn into the map's pixel buffer from
// thumbnails fetched in batches (GET /api/thumbs, a wire.ThumbBatch)
// for the visible tiles only, at the size the tiles need.
const (
	// wallMinCell is the least side, in screen pixels, of a cell with a
	// wall; wallMinTile and wallMaxTile bound a tile's side.
	wallMinCell = 40
	wallMinTile = 14
	wallMaxTile = 160
	// thumbBatch is the most thumbnails asked for in one request, and
	// thumbsInFlight the most requests at once.
	thumbBatch     = 400
	thumbsInFlight = 2
	// thumbKeepBytes is how many bytes of thumbnails the client keeps;
	// past it, those not on screen are dropped.
	thumbKeepBytes = 96 << 20
)

// wallOnScreen is one cell's wall in the last frame.
type wallOnScreen struct {
	sub  int32
	rot  int8
	wall ui.Wall
}

// wallStats describes the largest wall of the last frame (for the tests
// and the page's state) and the thumbnails fetched so far.
type wallStats struct {
	sub                   int32   // -1: no wall on screen
	images, shown, drawn  int     // the cluster's images, tiles laid out, tiles drawn with pixels
	visible               int     // tiles laid out on screen
	tile, x, y            float64 // tile side, grid's top-left on screen
	fill                  float64 // share of the cell's visible area covered by tiles
	maxPx                 int     // largest thumbnail side drawn
	walls, tilesDrawn     int     // over all walls of the frame
	batches, received     int     // thumbnail requests answered, thumbnails received
	requestedPx, inFlight int
}

// thumb is one thumbnail as received: px x px RGB.
type thumb struct {
	px   int
	rgb  []byte
	used int // frame it was last drawn in
}

// thumbStore keeps the received thumbnails and what the frames wanted.
type thumbStore struct {
	res     int // the largest side the server has (thumb_px of /api/run): never ask for more
	bytes   int // of the thumbnails in have
	have    map[int32]*thumb
	pending map[int32]bool // asked for, not answered yet
	want    []int32        // missing (or too small) on the last frame, first seen first
	wantPx  int
	// retryAt holds requests back after a failed one (performance.now()).
	retryAt float64
}

func (s *thumbStore) init() {
	s.have = map[int32]*thumb{}
	s.bytes = 0
	s.pending = map[int32]bool{}
}

// drawWalls fills every large sub-cluster cell of the last ui.Draw with its
// images, and notes the thumbnails missing.
func (p *mapPanel) drawWalls() {
	p.walls = p.walls[:0]
	ts := &p.thumbs
	ts.want = ts.want[:0]
	ts.wantPx = 0
	st := wallStats{sub: -1, batches: p.wall.batches, received: p.wall.received, requestedPx: p.wall.requestedPx, inFlight: p.wall.inFlight}
	if p.tree == nil || p.style.T < 1 {
		p.wall = st
		return
	}
	W, H := float64(p.canvas.W), float64(p.canvas.H)
	bestArea := 0.0
	for _, b := range p.big {
		n := &p.tree.Nodes[b.Node]
		if n.Level != ui.LevelSub || b.X1-b.X0 < wallMinCell || b.Y1-b.Y0 < wallMinCell {
			continue
		}
		ids := p.members[p.memStart[n.Sub]:p.memStart[n.Sub+1]]
		// Inside the cell's one-pixel grid line.
		wl := ui.LayoutWall(b.X0, b.Y0, b.X1-1, b.Y1-1, len(ids), wallMinTile, wallMaxTile)
		if wl.N == 0 {
			continue
		}
		p.walls = append(p.walls, wallOnScreen{sub: n.Sub, rot: n.Rot, wall: wl})
		st.walls++
		need := ui.ThumbPx(wl.Tile, ts.res)
		// A search dims the photos of the cells it does not light.
		dim := p.style.Highlight != nil && !(int(n.Sub) < len(p.style.Highlight) && p.style.Highlight[n.Sub])
		size := int(wl.Tile)
		if size >= 6 {
			size-- // a gap between tiles
		}
		r0, r1, c0, c1 := wl.Visible(W, H)
		drawn, visible, maxPx := 0, 0, 0
		for r := r0; r < r1; r++ {
			for c := c0; c < c1; c++ {
				i := r*wl.Cols + c
				if i >= wl.N {
					break
				}
				visible++
				id := ids[i]
				th := ts.have[id]
				if th == nil || th.px < need {
					if !ts.pending[id] {
						ts.want = append(ts.want, id)
						ts.wantPx = max(ts.wantPx, need)
					}
				}
				if th == nil {
					continue
				}
				th.used = p.frames
				x := int(math.Round(wl.X + float64(c)*wl.Tile))
				y := int(math.Round(wl.Y + float64(r)*wl.Tile))
				p.canvas.BlitRotDim(x, y, size, th.rgb, th.px, int(max(n.Rot, 0)), dim)
				drawn++
				maxPx = max(maxPx, th.px)
			}
		}
		st.tilesDrawn += drawn
		// The largest wall on screen is the one the state reports.
		vx0, vy0 := math.Max(b.X0, 0), math.Max(b.Y0, 0)
		vx1, vy1 := math.Min(b.X1, W), math.Min(b.Y1, H)
		area := (vx1 - vx0) * (vy1 - vy0)
		if area > bestArea {
			bestArea = area
			st.sub, st.images, st.shown, st.drawn, st.visible, st.tile, st.maxPx = n.Sub, len(ids), wl.N, drawn, visible, wl.Tile, maxPx
			st.x, st.y = wl.X, wl.Y
			st.fill = math.Min(1, float64(visible)*wl.Tile*wl.Tile/area)
		}
	}
	p.wall = st
}

// wallImage is the image of the wall tile under the screen point, or -1.
func (p *mapPanel) wallImage(x, y float64) int32 {
	for _, w := range p.walls {
		if i := w.wall.At(x, y); i >= 0 {
			ids := p.members[p.memStart[w.sub]:p.memStart[w.sub+1]]
			if i < len(ids) {
				return ids[i]
			}
		}
	}
	return -1
}

// askThumbSize learns from /api/run the largest thumbnail side the server
// has (thumb_px: a folder of photos keeps display copies far larger than
// the model's resolution), so walls of large tiles get sharp photos.
func (p *mapPanel) askThumbSize() {
	p.a.fetchJSON("GET", "/api/run", "", func(status int, v js.Value, err string) {
		if status != 200 || err != "" {
			return // the walls stay at the model's resolution
		}
		if px := v.Get("thumb_px"); px.Type() == js.TypeNumber && px.Int() > p.thumbs.res {
			p.thumbs.res = min(px.Int(), wire.MaxThumbPx)
			p.dirty = true
		}
	})
}

// fetchThumbs asks for the thumbnails the last frame missed, in batches,
// once the view has settled.
func (p *mapPanel) fetchThumbs() {
	ts := &p.thumbs
	if len(ts.want) == 0 || p.wall.inFlight >= thumbsInFlight || p.a.dom.now() < ts.retryAt {
		return
	}
	n := min(len(ts.want), thumbBatch, max(1, wire.MaxThumbBatchBytes/(ts.wantPx*ts.wantPx*3)))
	ids := ts.want[:n]
	var b strings.Builder
	b.WriteString("/api/thumbs?px=" + itoa(ts.wantPx) + "&ids=")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(int(id)))
		ts.pending[id] = true
	}
	asked := append([]int32(nil), ids...)
	ts.want = ts.want[n:]
	p.wall.inFlight++
	p.wall.requestedPx = ts.wantPx
	p.a.fetchBytes(b.String(), func(status int, body []byte, err string) {
		p.wall.inFlight--
		for _, id := range asked {
			delete(ts.pending, id)
		}
		if status != 200 || err != "" {
			p.a.reportErr("thumbnails", "HTTP "+itoa(status)+" "+err)
			ts.retryAt = p.a.dom.now() + 2000
			return
		}
		batch, derr := wire.DecodeThumbBatch(body)
		if derr != nil {
			p.a.reportErr("thumbnails", derr)
			ts.retryAt = p.a.dom.now() + 2000
			return
		}
		p.wall.batches++
		p.wall.received += len(batch.IDs)
		if ts.bytes+len(batch.Pix) > thumbKeepBytes {
			for id, th := range ts.have {
				if th.used < p.frames-1 {
					ts.bytes -= len(th.rgb)
					delete(ts.have, id)
				}
			}
		}
		for i, id := range batch.IDs {
			old := ts.have[id]
			if old != nil && old.px > batch.Px {
				continue
			}
			if old != nil {
				ts.bytes -= len(old.rgb)
			}
			th := &thumb{px: batch.Px, rgb: append([]byte(nil), batch.Thumb(i)...), used: p.frames}
			ts.have[id] = th
			ts.bytes += len(th.rgb)
		}
		p.dirty = true
	})
}
