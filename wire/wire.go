// Package wire is how the domain types of package deepercluster travel and
// are stored: the binary frames between the server and the browser client
// (this file; the layout frames in layout.go), the thumbnail batch container
// (thumbs.go) and the one stored form of an Assignment (assignment.go). The
// root package holds the types and their invariants; this package only
// encodes and decodes them, so that the server and the wasm client share
// one codec and neither depends on the other.
//
// Every websocket message is one frame: a fixed 12-byte header and a
// kind-specific payload. The server encodes a frame once and sends the same
// bytes to every client; the wasm client decodes with this very code, so
// both ends never disagree.
//
// Header (little-endian):
//
//	0  'D' 'C'        magic
//	2  Version        format version
//	3  kind           FrameKind
//	4  run  uint32    RunHash of the run id: a client notices a new run
//	8  ver  uint32    Assignment version the frame belongs to
//
// Id arrays (Super, Sub, SubParent) are stored with the narrowest width that
// holds their range (1, 2 or 4 bytes a value), so a million images with
// m<=256 and <=65536 sub-clusters cost 3 MB. Counts and small integers are
// varints; floats are IEEE-754 bits.
//
// Decoding trusts nothing: every length is checked against the bytes that
// are really left before anything is allocated, strings and lists are
// capped, and ids are validated, so a forged frame yields an error, never a
// panic or a huge allocation. testdata/fixtures holds one frame of every
// kind written by the code before this package existed (TestWireFixtures).
package wire

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/deepercluster/deepercluster"
)

// Version is the format version in every frame header; a decoder refuses
// other versions instead of misreading them.
const Version = 3

// HeaderSize is the size of the fixed frame header.
const HeaderSize = 12

// Caps on decoded values: generous for real data, small enough that a forged
// frame cannot make the client allocate or loop without bound.
const (
	// MaxString is the longest string a frame may hold.
	MaxString = 1 << 16
	// MaxTags is the most tags one cluster summary may list.
	MaxTags = 1024
	// MaxClusters caps M (super-clusters) in a frame.
	MaxClusters = 1 << 20
	// MaxImages caps the number of images an Assignment may describe.
	MaxImages = 1 << 28
)

// FrameKind says what a frame's payload is.
type FrameKind uint8

// Frame kinds. Server to client: Snapshot, Delta, Progress, Metrics,
// RunInfo, Summaries, Pong, History. Client to server: Ping, RequestSnapshot.
const (
	KindSnapshot  FrameKind = 1
	KindDelta     FrameKind = 2
	KindProgress  FrameKind = 3
	KindMetrics   FrameKind = 4
	KindRunInfo   FrameKind = 5
	KindSummaries FrameKind = 6
	KindPong      FrameKind = 7
	// KindHistory carries a run's History: sent to every client on
	// connect, after the snapshot, so charts show the whole run.
	KindHistory FrameKind = 8
	// KindLayout carries the 2D map of a version (Layout); KindLayoutDelta
	// moves some of its points while the server refines it;
	// KindLayoutProgress says how far the layout of a version is.
	KindLayout          FrameKind = 9
	KindLayoutDelta     FrameKind = 10
	KindLayoutProgress  FrameKind = 11
	KindPing            FrameKind = 16
	KindRequestSnapshot FrameKind = 17
)

// String names a kind for logs and errors.
func (k FrameKind) String() string {
	switch k {
	case KindSnapshot:
		return "snapshot"
	case KindDelta:
		return "delta"
	case KindProgress:
		return "progress"
	case KindMetrics:
		return "metrics"
	case KindRunInfo:
		return "runinfo"
	case KindSummaries:
		return "summaries"
	case KindPong:
		return "pong"
	case KindLayout:
		return "layout"
	case KindLayoutDelta:
		return "layout-delta"
	case KindLayoutProgress:
		return "layout-progress"
	case KindHistory:
		return "history"
	case KindPing:
		return "ping"
	case KindRequestSnapshot:
		return "request-snapshot"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// RunHash is the 32-bit run identifier of frame headers (FNV-1a of the run
// id): enough for a client to notice that the server switched runs.
func RunHash(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()
}

// Frame is one decoded message. Only the fields of its Kind are set.
type Frame struct {
	Kind FrameKind
	// Run is the RunHash of the run the frame belongs to.
	Run uint32
	// Version is the Assignment version of the header.
	Version uint32

	Info       *deepercluster.RunInfo         // Snapshot, RunInfo
	Assignment *deepercluster.Assignment      // Snapshot
	Summaries  []deepercluster.ClusterSummary // Snapshot, Summaries
	Delta      *deepercluster.Delta           // Delta
	Progress   *deepercluster.Progress        // Progress
	Metrics    *deepercluster.Metrics         // Metrics
	History    *deepercluster.History         // History
	// Layout, LayoutDelta and LayoutProgress belong to the kinds of their
	// names.
	Layout         *deepercluster.Layout
	LayoutDelta    *deepercluster.LayoutDelta
	LayoutProgress *deepercluster.LayoutProgress
	// Nonce is echoed from Ping to Pong so a client can measure round trips;
	// for RequestSnapshot it is the version the client already holds.
	Nonce uint64
}

// ---- encoding ----

func appendHeader(dst []byte, k FrameKind, run, version uint32) []byte {
	dst = append(dst, 'D', 'C', Version, byte(k))
	dst = binary.LittleEndian.AppendUint32(dst, run)
	return binary.LittleEndian.AppendUint32(dst, version)
}

// idWidth is the narrowest width holding ids in [0, n).
func idWidth(n int) byte {
	switch {
	case n <= 1<<8:
		return 1
	case n <= 1<<16:
		return 2
	}
	return 4
}

// appendIDs writes ids with width w; callers pick w from the ids' range.
func appendIDs(dst []byte, ids []int32, w byte) []byte {
	dst = append(dst, w)
	off := len(dst)
	dst = slices.Grow(dst, len(ids)*int(w))[:off+len(ids)*int(w)]
	out := dst[off:]
	switch w {
	case 1:
		out = out[:len(ids)]
		for i, v := range ids {
			out[i] = byte(v)
		}
	case 2:
		out = out[:2*len(ids)]
		for i, v := range ids {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		}
	default:
		out = out[:4*len(ids)]
		for i, v := range ids {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
	}
	return dst
}

// appendIndexGaps appends increasing indices as uvarint gaps: the first
// index, then for each next one its distance from the previous minus one.
func appendIndexGaps(dst []byte, idx []uint32) []byte {
	next := uint32(0)
	for _, ix := range idx {
		dst = binary.AppendUvarint(dst, uint64(ix-next))
		next = ix + 1
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	if len(s) > MaxString {
		s = s[:MaxString]
	}
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendInt(dst []byte, v int) []byte { return binary.AppendVarint(dst, int64(v)) }

func appendFloat(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}

func appendHierarchy(dst []byte, m int, subParent []int32) []byte {
	dst = binary.AppendUvarint(dst, uint64(m))
	dst = binary.AppendUvarint(dst, uint64(len(subParent)))
	return appendIDs(dst, subParent, idWidth(m))
}

func appendSummaries(dst []byte, sums []deepercluster.ClusterSummary) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(sums)))
	for _, s := range sums {
		dst = binary.AppendVarint(dst, int64(s.Sub))
		dst = binary.AppendVarint(dst, int64(s.Super))
		dst = appendInt(dst, s.Size)
		dst = appendFloat(dst, s.TopShare)
		tags := s.TopTags
		if len(tags) > MaxTags {
			tags = tags[:MaxTags]
		}
		dst = binary.AppendUvarint(dst, uint64(len(tags)))
		for _, t := range tags {
			dst = appendString(dst, t.Tag)
			dst = appendInt(dst, t.Count)
		}
		kws := s.Keywords
		if len(kws) > MaxTags {
			kws = kws[:MaxTags]
		}
		dst = binary.AppendUvarint(dst, uint64(len(kws)))
		for _, k := range kws {
			dst = appendString(dst, k)
		}
	}
	return dst
}

func appendProgress(dst []byte, p deepercluster.Progress) []byte {
	dst = appendString(dst, string(p.Phase))
	for _, v := range [...]int{p.Epoch, p.Epochs, p.Step, p.Steps} {
		dst = appendInt(dst, v)
	}
	for _, f := range [...]float64{p.Done, p.LossSuper, p.LossSub, p.PrecSuper, p.PrecSub, p.ImagesPerSec} {
		dst = appendFloat(dst, f)
	}
	return dst
}

func appendRunInfo(dst []byte, info deepercluster.RunInfo) []byte {
	dst = appendString(dst, info.ID)
	dst = appendString(dst, info.Dataset)
	dst = appendInt(dst, info.Images)
	dst = appendInt(dst, info.Resolution)
	if info.Labels {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	p := info.Params
	dst = appendString(dst, string(p.Preset))
	for _, v := range [...]int{p.M, p.K, p.ReclusterEvery, p.PCADim} {
		dst = appendInt(dst, v)
	}
	dst = appendProgress(dst, info.Progress)
	dst = binary.LittleEndian.AppendUint32(dst, info.Version)
	// One flags byte: bit 0 says a start time follows, bit 1 a device.
	// A run info without a device encodes as before devices existed
	// (flags 0 or 1), so older frames and fixtures read unchanged.
	var flags byte
	if !info.Started.IsZero() {
		flags |= runInfoStarted
	}
	if info.Device != (deepercluster.DeviceInfo{}) {
		flags |= runInfoDevice
	}
	dst = append(dst, flags)
	if flags&runInfoStarted != 0 {
		dst = binary.AppendVarint(dst, info.Started.Unix())
		dst = binary.AppendUvarint(dst, uint64(info.Started.Nanosecond()))
	}
	if flags&runInfoDevice != 0 {
		dst = appendString(dst, info.Device.Kind)
		dst = appendString(dst, info.Device.Name)
		dst = binary.AppendUvarint(dst, uint64(max(info.Device.MemoryBytes, 0)))
	}
	return dst
}

// The flags byte at the end of a run info.
const (
	runInfoStarted byte = 1 << iota
	runInfoDevice
)

// AppendSnapshot appends a Snapshot frame: the run, the whole Assignment and
// the cluster summaries, everything a client needs to start drawing. The
// Assignment must be valid (see Assignment.Validate).
func AppendSnapshot(dst []byte, info deepercluster.RunInfo, a *deepercluster.Assignment, sums []deepercluster.ClusterSummary) []byte {
	dst = slices.Grow(dst, HeaderSize+64+len(a.Super)*int(idWidth(a.M)+idWidth(len(a.SubParent)))+len(a.SubParent)*4+len(sums)*64)
	dst = appendHeader(dst, KindSnapshot, RunHash(info.ID), a.Version)
	dst = appendRunInfo(dst, info)
	dst = appendHierarchy(dst, a.M, a.SubParent)
	dst = binary.AppendUvarint(dst, uint64(len(a.Super)))
	dst = appendIDs(dst, a.Super, idWidth(a.M))
	dst = appendIDs(dst, a.Sub[:len(a.Super)], idWidth(len(a.SubParent)))
	return appendSummaries(dst, sums)
}

// AppendDelta appends a Delta frame of run (a RunHash); its header version
// is d.To.
func AppendDelta(dst []byte, run uint32, d *deepercluster.Delta) []byte {
	dst = slices.Grow(dst, HeaderSize+32+len(d.Index)*(3+int(idWidth(d.M)+idWidth(len(d.SubParent))))+len(d.SubParent)*4)
	dst = appendHeader(dst, KindDelta, run, d.To)
	dst = binary.LittleEndian.AppendUint32(dst, d.From)
	dst = binary.AppendUvarint(dst, uint64(d.N))
	dst = appendHierarchy(dst, d.M, d.SubParent)
	dst = binary.AppendUvarint(dst, uint64(len(d.Index)))
	dst = appendIndexGaps(dst, d.Index)
	dst = appendIDs(dst, d.Super, idWidth(d.M))
	dst = appendIDs(dst, d.Sub, idWidth(len(d.SubParent)))
	return appendSummaries(dst, d.Summaries)
}

// AppendProgress appends a Progress frame.
func AppendProgress(dst []byte, run, version uint32, p deepercluster.Progress) []byte {
	return appendProgress(appendHeader(dst, KindProgress, run, version), p)
}

// AppendMetrics appends a Metrics frame; its header version is m.Version.
func AppendMetrics(dst []byte, run uint32, m deepercluster.Metrics) []byte {
	dst = appendHeader(dst, KindMetrics, run, m.Version)
	dst = appendInt(dst, m.Epoch)
	for _, f := range [...]float64{m.StabilityNMI, m.LabelNMI, m.LabelARI, m.LabelPurity} {
		dst = appendFloat(dst, f)
	}
	return dst
}

// AppendHistory appends a History frame: the step points (stride, then
// epoch and the four figures of each) and the metrics of every
// reclustering.
func AppendHistory(dst []byte, run, version uint32, h *deepercluster.History) []byte {
	dst = appendHeader(dst, KindHistory, run, version)
	dst = binary.AppendUvarint(dst, uint64(max(h.Stride, 1)))
	dst = binary.AppendUvarint(dst, uint64(len(h.Steps)))
	for _, p := range h.Steps {
		dst = appendInt(dst, p.Epoch)
		for _, f := range [...]float64{p.LossSuper, p.LossSub, p.PrecSuper, p.PrecSub} {
			dst = appendFloat(dst, f)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(h.Metrics)))
	for _, m := range h.Metrics {
		dst = binary.LittleEndian.AppendUint32(dst, m.Version)
		dst = appendInt(dst, m.Epoch)
		for _, f := range [...]float64{m.StabilityNMI, m.LabelNMI, m.LabelARI, m.LabelPurity} {
			dst = appendFloat(dst, f)
		}
	}
	return dst
}

// AppendRunInfo appends a RunInfo frame (parameters or state changed).
func AppendRunInfo(dst []byte, info deepercluster.RunInfo) []byte {
	return appendRunInfo(appendHeader(dst, KindRunInfo, RunHash(info.ID), info.Version), info)
}

// AppendSummaries appends a Summaries frame: the cluster summaries of an
// Assignment version, which the index computes after the version was sent.
func AppendSummaries(dst []byte, run, version uint32, sums []deepercluster.ClusterSummary) []byte {
	return appendSummaries(appendHeader(dst, KindSummaries, run, version), sums)
}

// AppendPing appends a client Ping; the server answers with a Pong carrying
// the same nonce.
func AppendPing(dst []byte, nonce uint64) []byte {
	return binary.LittleEndian.AppendUint64(appendHeader(dst, KindPing, 0, 0), nonce)
}

// AppendPong appends the server's answer to a Ping.
func AppendPong(dst []byte, run, version uint32, nonce uint64) []byte {
	return binary.LittleEndian.AppendUint64(appendHeader(dst, KindPong, run, version), nonce)
}

// AppendRequestSnapshot appends a client's request for a fresh snapshot
// (after it lost track, e.g. a delta that does not apply); have is the
// version it holds, 0 for none.
func AppendRequestSnapshot(dst []byte, have uint32) []byte {
	return binary.LittleEndian.AppendUint64(appendHeader(dst, KindRequestSnapshot, 0, have), uint64(have))
}

// ---- decoding ----

// reader reads a payload; the first error sticks and later reads return
// zero values, so decoders check once at the end of each section.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrBadFrame, fmt.Sprintf(format, args...), r.off)
	}
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) byte1(what string) byte {
	if r.err != nil {
		return 0
	}
	if r.left() < 1 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u32(what string) uint32 {
	if r.err != nil {
		return 0
	}
	if r.left() < 4 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) u64(what string) uint64 {
	if r.err != nil {
		return 0
	}
	if r.left() < 8 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *reader) f64(what string) float64 { return math.Float64frombits(r.u64(what)) }

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("%s: bad varint", what)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("%s: bad varint", what)
		return 0
	}
	r.off += n
	return v
}

// indexGaps reads n increasing indices in [0, bound) written by
// appendIndexGaps (nil when n is 0 or on error).
func (r *reader) indexGaps(what string, n, bound int) []uint32 {
	if r.err != nil || n == 0 {
		return nil
	}
	idx := make([]uint32, n)
	next := uint64(0)
	for j := range idx {
		g := r.uvarint(what)
		v := next + g
		if r.err == nil && (g >= uint64(bound) || v >= uint64(bound)) {
			r.fail("%s %d: index outside [0,%d)", what, j, bound)
		}
		if r.err != nil {
			return nil
		}
		idx[j] = uint32(v)
		next = v + 1
	}
	return idx
}

// count reads a length that is followed by at least minEach bytes per
// element, and refuses it when the frame is too short to hold that many:
// no allocation is ever larger than the frame itself.
func (r *reader) count(what string, max, minEach int) int {
	v := r.uvarint(what)
	if r.err != nil {
		return 0
	}
	if v > uint64(max) {
		r.fail("%s: %d over the limit %d", what, v, max)
		return 0
	}
	if minEach > 0 && v > uint64(r.left()/minEach) {
		r.fail("%s: %d elements but only %d bytes left", what, v, r.left())
		return 0
	}
	return int(v)
}

func (r *reader) int(what string) int {
	v := r.varint(what)
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("%s: %d out of range", what, v)
		return 0
	}
	return int(v)
}

func (r *reader) str(what string) string {
	n := r.count(what, MaxString, 1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

// ids reads n ids written by appendIDs and checks them against [0, bound).
func (r *reader) ids(what string, n, bound int) []int32 {
	w := int(r.byte1(what + " width"))
	if r.err != nil {
		return nil
	}
	if w != 1 && w != 2 && w != 4 {
		r.fail("%s: width %d, want 1, 2 or 4", what, w)
		return nil
	}
	if n > r.left()/w {
		r.fail("%s: %d ids of %d bytes but only %d bytes left", what, n, w, r.left())
		return nil
	}
	in := r.b[r.off : r.off+n*w]
	r.off += n * w
	out := make([]int32, n)
	var max uint32
	switch w {
	case 1:
		in = in[:len(out)]
		for i := range out {
			v := in[i]
			out[i] = int32(v)
			if uint32(v) > max {
				max = uint32(v)
			}
		}
	case 2:
		in = in[:2*len(out)]
		for i := range out {
			v := binary.LittleEndian.Uint16(in[2*i:])
			out[i] = int32(v)
			if uint32(v) > max {
				max = uint32(v)
			}
		}
	default:
		in = in[:4*len(out)]
		for i := range out {
			v := binary.LittleEndian.Uint32(in[4*i:])
			out[i] = int32(v)
			if v > max {
				max = v
			}
		}
	}
	if n > 0 && uint64(max) >= uint64(bound) {
		r.fail("%s: id %d outside [0,%d)", what, max, bound)
		return nil
	}
	return out
}

func (r *reader) hierarchy() (m int, subParent []int32) {
	m = r.count("m", MaxClusters, 0)
	nsub := r.count("sub-clusters", math.MaxInt32, 1)
	subParent = r.ids("sub parents", nsub, m)
	return m, subParent
}

func (r *reader) summaries() []deepercluster.ClusterSummary {
	// The smallest summary is 5 varints of one byte and a float: 13 bytes.
	n := r.count("summaries", math.MaxInt32, 13)
	if r.err != nil || n == 0 {
		return nil
	}
	out := make([]deepercluster.ClusterSummary, n)
	for i := range out {
		s := &out[i]
		s.Sub = int32(r.int("summary sub"))
		s.Super = int32(r.int("summary super"))
		s.Size = r.int("summary size")
		s.TopShare = r.f64("summary top share")
		nt := r.count("summary tags", MaxTags, 2)
		if nt > 0 {
			s.TopTags = make([]deepercluster.TagCount, nt)
			for j := range s.TopTags {
				s.TopTags[j].Tag = r.str("tag")
				s.TopTags[j].Count = r.int("tag count")
			}
		}
		if nk := r.count("summary keywords", MaxTags, 1); nk > 0 {
			s.Keywords = make([]string, nk)
			for j := range s.Keywords {
				s.Keywords[j] = r.str("keyword")
			}
		}
		if r.err != nil {
			return nil
		}
	}
	return out
}

func (r *reader) progress() deepercluster.Progress {
	var p deepercluster.Progress
	p.Phase = deepercluster.Phase(r.str("phase"))
	p.Epoch = r.int("epoch")
	p.Epochs = r.int("epochs")
	p.Step = r.int("step")
	p.Steps = r.int("steps")
	p.Done = r.f64("done")
	p.LossSuper = r.f64("loss super")
	p.LossSub = r.f64("loss sub")
	p.PrecSuper = r.f64("precision super")
	p.PrecSub = r.f64("precision sub")
	p.ImagesPerSec = r.f64("images per second")
	return p
}

func (r *reader) runInfo() *deepercluster.RunInfo {
	info := &deepercluster.RunInfo{}
	info.ID = r.str("run id")
	info.Dataset = r.str("dataset")
	info.Images = r.int("images")
	info.Resolution = r.int("resolution")
	switch b := r.byte1("labels"); b {
	case 0:
	case 1:
		info.Labels = true
	default:
		r.fail("labels: flag %d, want 0 or 1", b)
	}
	info.Params.Preset = deepercluster.Preset(r.str("preset"))
	info.Params.M = r.int("m")
	info.Params.K = r.int("k")
	info.Params.ReclusterEvery = r.int("recluster_every")
	info.Params.PCADim = r.int("pca_dim")
	info.Progress = r.progress()
	info.Version = r.u32("version")
	flags := r.byte1("run info flags")
	if flags&^(runInfoStarted|runInfoDevice) != 0 {
		r.fail("run info flags: %#x, want bits 0 (started) and 1 (device) only", flags)
	}
	if flags&runInfoStarted != 0 {
		sec := r.varint("started")
		ns := r.uvarint("started ns")
		if ns >= 1e9 {
			r.fail("started: %d nanoseconds", ns)
		}
		info.Started = time.Unix(sec, int64(ns)).UTC()
	}
	if flags&runInfoDevice != 0 {
		info.Device.Kind = r.str("device kind")
		info.Device.Name = r.str("device name")
		mem := r.uvarint("device memory")
		if mem > math.MaxInt64 {
			r.fail("device memory: %d bytes", mem)
		}
		info.Device.MemoryBytes = int64(mem)
	}
	return info
}

// DecodeFrame decodes one frame. The Assignment of a Snapshot is validated;
// a Delta is checked for order and id ranges (Delta.Apply checks it against
// the client's Assignment). Trailing bytes are an error.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < HeaderSize {
		return Frame{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrBadFrame, len(b), HeaderSize)
	}
	if b[0] != 'D' || b[1] != 'C' {
		return Frame{}, fmt.Errorf("%w: magic %q, want \"DC\"", ErrBadFrame, b[:2])
	}
	if b[2] != Version {
		return Frame{}, fmt.Errorf("%w: format version %d, want %d", ErrBadFrame, b[2], Version)
	}
	f := Frame{
		Kind:    FrameKind(b[3]),
		Run:     binary.LittleEndian.Uint32(b[4:]),
		Version: binary.LittleEndian.Uint32(b[8:]),
	}
	r := &reader{b: b, off: HeaderSize}
	switch f.Kind {
	case KindSnapshot:
		f.Info = r.runInfo()
		m, sp := r.hierarchy()
		n := r.count("images", MaxImages, 2)
		a := &deepercluster.Assignment{Version: f.Version, M: m, SubParent: sp}
		a.Super = r.ids("super ids", n, m)
		a.Sub = r.ids("sub ids", n, len(sp))
		f.Summaries = r.summaries()
		if r.err == nil {
			// ids checked the ranges; what is left of Validate is that
			// each image's sub-cluster belongs to its super-cluster.
			sup, sub := a.Super, a.Sub[:len(a.Super)]
			for i, z := range sub {
				if sp[z] != sup[i] {
					return Frame{}, fmt.Errorf("%w: snapshot: %w: image %d: sub-cluster %d belongs to super-cluster %d, not %d",
						ErrBadFrame, deepercluster.ErrInvalidAssignment, i, z, sp[z], sup[i])
				}
			}
			f.Assignment = a
		}
	case KindDelta:
		d := &deepercluster.Delta{To: f.Version}
		d.From = r.u32("from version")
		d.N = r.count("images", MaxImages, 0)
		d.M, d.SubParent = r.hierarchy()
		nc := r.count("changed images", MaxImages, 1)
		if nc > d.N {
			r.fail("changed images: %d of %d", nc, d.N)
		}
		d.Index = r.indexGaps("changed image", nc, d.N)
		d.Super = r.ids("super ids", nc, d.M)
		d.Sub = r.ids("sub ids", nc, len(d.SubParent))
		d.Summaries = r.summaries()
		if r.err == nil {
			f.Delta = d
		}
	case KindProgress:
		p := r.progress()
		f.Progress = &p
	case KindMetrics:
		m := deepercluster.Metrics{Version: f.Version}
		m.Epoch = r.int("epoch")
		m.StabilityNMI = r.f64("stability nmi")
		m.LabelNMI = r.f64("label nmi")
		m.LabelARI = r.f64("label ari")
		m.LabelPurity = r.f64("label purity")
		f.Metrics = &m
	case KindRunInfo:
		f.Info = r.runInfo()
	case KindHistory:
		h := &deepercluster.History{}
		stride := r.uvarint("stride")
		if r.err == nil && (stride < 1 || stride > 1<<40) {
			r.fail("stride %d outside [1, 2^40]", stride)
		}
		h.Stride = int(stride)
		ns := r.count("step points", deepercluster.MaxHistoryPoints, 33)
		for i := 0; i < ns && r.err == nil; i++ {
			p := deepercluster.StepPoint{Epoch: r.int("epoch")}
			p.LossSuper, p.LossSub = r.f64("loss super"), r.f64("loss sub")
			p.PrecSuper, p.PrecSub = r.f64("prec super"), r.f64("prec sub")
			h.Steps = append(h.Steps, p)
		}
		nm := r.count("metrics", math.MaxInt32, 37)
		for i := 0; i < nm && r.err == nil; i++ {
			m := deepercluster.Metrics{Version: r.u32("version"), Epoch: r.int("epoch")}
			m.StabilityNMI, m.LabelNMI = r.f64("stability nmi"), r.f64("label nmi")
			m.LabelARI, m.LabelPurity = r.f64("label ari"), r.f64("label purity")
			h.Metrics = append(h.Metrics, m)
		}
		if r.err == nil {
			f.History = h
		}
	case KindSummaries:
		f.Summaries = r.summaries()
	case KindLayout:
		f.Layout = r.layout(f.Version)
	case KindLayoutDelta:
		f.LayoutDelta = r.layoutDelta(f.Version)
	case KindLayoutProgress:
		p := deepercluster.LayoutProgress{Stage: r.str("stage"), Done: r.f64("done")}
		f.LayoutProgress = &p
	case KindPing, KindPong, KindRequestSnapshot:
		f.Nonce = r.u64("nonce")
	default:
		return Frame{}, fmt.Errorf("%w: unknown kind %d", ErrBadFrame, b[3])
	}
	if r.err == nil && r.left() != 0 {
		r.fail("%d trailing bytes after %s", r.left(), f.Kind)
	}
	if r.err != nil {
		return Frame{}, fmt.Errorf("decode %s: %w", f.Kind, r.err)
	}
	return f, nil
}
