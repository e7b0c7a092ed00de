package yfcc

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
)

// The two published YFCC100M metadata layouts, told apart by field count.
const (
	// Columns is the layout of the original ten-file release.
	Columns = 23
	// ColumnsNumbered is the single-file release, which adds a line
	// number and the photo hash in front.
	ColumnsNumbered = 25
)

// MaxLine is the longest metadata line accepted, in bytes. Real lines
// are well under 64 KiB even with long descriptions; anything longer is
// reported as a bad line so that one broken file cannot make the reader
// buffer without bound.
const MaxLine = 256 << 10

// Column indexes of the 23-column layout; the 25-column layout shifts them
// by two (after line number, photo id and hash).
const (
	colPhotoID = iota
	colUser
	colNickname
	colTaken
	colUploaded
	colDevice
	colTitle
	colDescription
	colTags
	colMachineTags
	colLongitude
	colLatitude
	colAccuracy
	colPageURL
	colDownloadURL
	colLicenseName
	colLicenseURL
	colServer
	colFarm
	colSecret
	colSecretOriginal
	colExtension
	colMarker
)

// Record is one parsed YFCC100M metadata line.
type Record struct {
	// Line is the 1-based line number in the metadata file, used to
	// report problems with the image of this record.
	Line int
	// End is the input offset just past the line, for progress reports.
	End int64
	// Meta holds the fields the rest of the program uses.
	Meta deepercluster.Meta
	// Number is the line number printed in the 25-column layout (0-based in
	// the published file); -1 for the 23-column layout.
	Number   int64
	Nickname string
	// Uploaded is the upload time; zero when junk.
	Uploaded time.Time
	// Longitude and Latitude are valid only when HasGeo is set.
	Longitude, Latitude float64
	HasGeo              bool
	PageURL             string
	DownloadURL         string
	LicenseName         string
	// Extension is the file extension of the original ("jpg", "png").
	Extension string
	// Marker is 0 for photos and 1 for videos.
	Marker int
}

// PhotoHash is the hash under which the images folder may store the
// photo: the published hash when the line had one, else the MD5 of the
// download URL (which is how YFCC100M defines the hash).
func (r *Record) PhotoHash() string {
	if r.Meta.Hash != "" {
		return r.Meta.Hash
	}
	if r.DownloadURL == "" {
		return ""
	}
	sum := md5.Sum([]byte(r.DownloadURL))
	return hex.EncodeToString(sum[:])
}

// LineError is a metadata line that could not be parsed.
type LineError struct {
	File  string
	Line  int
	Field string // empty when the line as a whole is bad
	Err   error
}

func (e *LineError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s line %d field %s: %v", e.File, e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Errors the line parser wraps, so callers can tell kinds of bad lines apart.
var (
	ErrFieldCount  = errors.New("wrong number of fields")
	ErrLineTooLong = errors.New("line too long")
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	ErrBadNumber   = errors.New("bad number")
	ErrBadEncoding = errors.New("bad percent-encoding")
)

// fieldError is what ParseLine returns before the reader knows the
// file and line: it becomes a LineError.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string {
	if e.field == "" {
		return e.err.Error()
	}
	return "field " + e.field + ": " + e.err.Error()
}

func (e *fieldError) Unwrap() error { return e.err }

var fieldNames = [Columns]string{
	"photo id", "user nsid", "nickname", "date taken", "date uploaded",
	"capture device", "title", "description", "user tags", "machine tags",
	"longitude", "latitude", "accuracy", "page url", "download url",
	"license name", "license url", "server id", "farm id", "secret",
	"secret original", "extension", "marker",
}

// ParseLine parses one metadata line (without its newline) in either
// layout. The returned Record has Line 0; errors name the bad field and
// wrap one of the Err* values above.
func ParseLine(line []byte) (Record, error) {
	var rec Record
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > MaxLine {
		return rec, &fieldError{"", fmt.Errorf("%w: %d bytes, limit %d", ErrLineTooLong, len(line), MaxLine)}
	}
	n := bytes.Count(line, []byte{'\t'}) + 1
	if n != Columns && n != ColumnsNumbered {
		return rec, &fieldError{"", fmt.Errorf("%w: %d, want %d or %d", ErrFieldCount, n, Columns, ColumnsNumbered)}
	}
	if !utf8.Valid(line) {
		return rec, &fieldError{"", ErrInvalidUTF8}
	}
	// One string for the whole line: fields that need no decoding are
	// substrings of it, which saves an allocation per field.
	s := string(line)
	var f [ColumnsNumbered]string
	for i := 0; i < n-1; i++ {
		j := strings.IndexByte(s, '\t')
		f[i], s = s[:j], s[j+1:]
	}
	f[n-1] = s

	fs := f[:Columns]
	rec.Number = -1
	if n == ColumnsNumbered {
		num, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || num < 0 {
			return rec, &fieldError{"line number", fmt.Errorf("%w: %q", ErrBadNumber, f[0])}
		}
		rec.Number = num
		h := f[2]
		if len(h) > 32 || !isHex(h) {
			return rec, &fieldError{"photo hash", fmt.Errorf("%w: %q is not an MD5 in hex", ErrBadNumber, clip(h))}
		}
		rec.Meta.Hash = strings.ToLower(h)
		// Drop the line number and hash: the rest matches the 23 columns.
		f[2] = f[1]
		fs = f[2:ColumnsNumbered]
	}
	if !isDigits(fs[colPhotoID]) || len(fs[colPhotoID]) > 20 {
		return rec, &fieldError{fieldNames[colPhotoID], fmt.Errorf("%w: %q", ErrBadNumber, clip(fs[colPhotoID]))}
	}
	if _, err := strconv.ParseUint(fs[colPhotoID], 10, 64); err != nil {
		return rec, &fieldError{fieldNames[colPhotoID], fmt.Errorf("%w: %q", ErrBadNumber, fs[colPhotoID])}
	}
	rec.Meta.PhotoID = fs[colPhotoID]
	rec.Meta.User = fs[colUser]
	rec.Meta.Taken = parseTaken(fs[colTaken])
	rec.Uploaded = parseUnix(fs[colUploaded])
	// Decoded text goes into one arena that becomes one string at the end:
	// one allocation per line instead of one per encoded field and tag.
	var arena []byte
	if n := encodedLen(fs, colNickname, colDevice, colTitle, colDescription, colTags, colMachineTags); n > 0 {
		arena = make([]byte, 0, n) // decoding never makes text longer
	}
	var spans [4]span
	for k, c := range [4]int{colNickname, colDevice, colTitle, colDescription} {
		spans[k] = decodeSpan(&arena, fs[c])
	}
	var refBuf [24]tagRef
	refs := refBuf[:0]
	var err error
	if rec.Meta.Tags, refs, err = splitTags(&arena, refs, 0, fs[colTags]); err != nil {
		return rec, &fieldError{fieldNames[colTags], err}
	}
	if rec.Meta.MachineTags, refs, err = splitTags(&arena, refs, 1, fs[colMachineTags]); err != nil {
		return rec, &fieldError{fieldNames[colMachineTags], err}
	}
	all := ""
	if len(arena) > 0 {
		all = string(arena)
	}
	text := func(k, c int) string {
		if sp := spans[k]; sp.ok {
			return all[sp.start:sp.end]
		}
		return fs[c]
	}
	rec.Nickname = text(0, colNickname)
	rec.Meta.Device = text(1, colDevice)
	rec.Meta.Title = text(2, colTitle)
	rec.Meta.Description = text(3, colDescription)
	for _, r := range refs {
		if r.list == 0 {
			rec.Meta.Tags[r.index] = all[r.start:r.end]
		} else {
			rec.Meta.MachineTags[r.index] = all[r.start:r.end]
		}
	}
	lon, lat := fs[colLongitude], fs[colLatitude]
	if lon != "" || lat != "" {
		if rec.Longitude, err = strconv.ParseFloat(lon, 64); err != nil || !(rec.Longitude >= -180 && rec.Longitude <= 180) {
			return rec, &fieldError{fieldNames[colLongitude], fmt.Errorf("%w: %q", ErrBadNumber, clip(lon))}
		}
		if rec.Latitude, err = strconv.ParseFloat(lat, 64); err != nil || !(rec.Latitude >= -90 && rec.Latitude <= 90) {
			return rec, &fieldError{fieldNames[colLatitude], fmt.Errorf("%w: %q", ErrBadNumber, clip(lat))}
		}
		rec.HasGeo = true
	}
	rec.PageURL = fs[colPageURL]
	rec.DownloadURL = fs[colDownloadURL]
	rec.LicenseName = fs[colLicenseName]
	rec.Extension = strings.ToLower(fs[colExtension])
	switch m := fs[colMarker]; m {
	case "0", "":
	case "1":
		rec.Marker = 1
	default:
		return rec, &fieldError{fieldNames[colMarker], fmt.Errorf("%w: %q, want 0 or 1", ErrBadNumber, clip(m))}
	}
	return rec, nil
}

// encodedLen is the total length of the fields that need decoding.
func encodedLen(fs []string, cols ...int) int {
	n := 0
	for _, c := range cols {
		if hasEscape(fs[c]) {
			n += len(fs[c])
		}
	}
	return n
}

// span is where a decoded field lies in the line's arena; ok is false
// when the field is used as it is (nothing to decode, or badly encoded).
type span struct {
	start, end int
	ok         bool
}

// decodeSpan decodes a free-text field (title, description, device) into
// the arena; YFCC text is not always well encoded, so on failure (or
// invalid UTF-8) the raw text stays.
func decodeSpan(arena *[]byte, s string) span {
	if !hasEscape(s) {
		return span{}
	}
	start := len(*arena)
	a, ok := appendUnescape(*arena, s)
	if !ok || !utf8.Valid(a[start:]) {
		*arena = a[:start]
		return span{}
	}
	*arena = a
	return span{start, len(a), true}
}

// tagRef says which tag of which list (0 user tags, 1 machine tags) is
// decoded text at arena[start:end].
type tagRef struct {
	list, index, start, end int
}

// splitTags splits a comma-separated tag field, then URL-decodes each tag
// (in this order: a decoded tag may hold a comma) into the arena, noting
// decoded tags in refs. Empty tags are dropped.
func splitTags(arena *[]byte, refs []tagRef, list int, s string) ([]string, []tagRef, error) {
	if s == "" {
		return nil, refs, nil
	}
	tags := make([]string, 0, strings.Count(s, ",")+1)
	for s != "" {
		var t string
		if i := strings.IndexByte(s, ','); i >= 0 {
			t, s = s[:i], s[i+1:]
		} else {
			t, s = s, ""
		}
		if t == "" {
			continue
		}
		if !hasEscape(t) {
			tags = append(tags, t)
			continue
		}
		start := len(*arena)
		a, ok := appendUnescape(*arena, t)
		if !ok || !utf8.Valid(a[start:]) {
			*arena = a[:start]
			return nil, refs, fmt.Errorf("%w: tag %q (or it decodes to invalid UTF-8)", ErrBadEncoding, clip(t))
		}
		*arena = a
		refs = append(refs, tagRef{list, len(tags), start, len(a)})
		tags = append(tags, "")
	}
	if len(tags) == 0 {
		return nil, refs, nil
	}
	return tags, refs, nil
}

// appendUnescape appends the URL-decoding of s ('+' is a space, %XX a
// byte) to dst, copying runs of plain bytes at once.
func appendUnescape(dst []byte, s string) ([]byte, bool) {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '%' && s[i] != '+' {
			i++
		}
		dst = append(dst, s[:i]...)
		if i == len(s) {
			break
		}
		if s[i] == '+' {
			dst = append(dst, ' ')
			s = s[i+1:]
			continue
		}
		if i+2 >= len(s) {
			return dst, false
		}
		h, l := unhex(s[i+1]), unhex(s[i+2])
		if h < 0 || l < 0 {
			return dst, false
		}
		dst = append(dst, byte(h<<4|l))
		s = s[i+3:]
	}
	return dst, true
}

// decodeText URL-decodes a free-text field (title, description, device);
// YFCC text is not always well encoded, so on failure the raw text stays.
func decodeText(s string) string {
	if !hasEscape(s) {
		return s
	}
	d, ok := queryUnescape(s)
	if !ok || !utf8.ValidString(d) {
		return s
	}
	return d
}

// hasEscape tells whether s needs URL-decoding.
func hasEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c == '+' {
			return true
		}
	}
	return false
}

// queryUnescape is url.QueryUnescape ('+' is a space, %XX a byte) with
// one allocation and no error value to build: it runs on every encoded
// tag of a million-line file.
func queryUnescape(s string) (string, bool) {
	if b, ok := appendUnescape(make([]byte, 0, len(s)), s); ok {
		return string(b), true
	}
	return "", false
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// parseTaken reads "2005-06-12 14:52:41.0" (fraction optional). Junk dates
// (year 4501, empty, garbage, impossible days) give the zero time.
func parseTaken(s string) time.Time {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}
	}
	num := func(a, b int) int {
		v := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d := num(0, 4), num(5, 7), num(8, 10)
	h, mi, se := num(11, 13), num(14, 16), num(17, 19)
	if y < 1826 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 {
		return time.Time{}
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d { // 31 February and the like
		return time.Time{}
	}
	return t
}

// parseUnix reads seconds since the epoch; junk gives the zero time.
func parseUnix(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > 4102444800 { // after 2100 is junk
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		return s + "..."
	}
	return s
}

// Reader streams records from a YFCC100M metadata file in bounded
// memory: one line at a time, never more than MaxLine bytes buffered.
// Bad lines are counted and skipped; Next only fails on I/O errors.
type Reader struct {
	br    *bufio.Reader
	name  string
	line  int
	bytes int64
	bad   dataset.Problems
	long  []byte
}

// NewReader reads metadata from r; name is used in error messages
// (usually the file name).
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, MaxLine+1), name: name}
}

// Next returns the next good record, skipping (and counting) bad lines and
// blank lines. It returns io.EOF at the end of the input.
func (y *Reader) Next() (Record, error) {
	for {
		line, err := y.br.ReadSlice('\n')
		y.bytes += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			y.line++
			size := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = y.br.ReadSlice('\n')
				y.bytes += int64(len(line))
				size += int64(len(line))
			}
			y.bad.Add(&LineError{File: y.name, Line: y.line, Err: fmt.Errorf("%w: over %d bytes (%d)", ErrLineTooLong, MaxLine, size)})
			if err != nil && err != io.EOF {
				return Record{}, fmt.Errorf("read %s line %d: %w", y.name, y.line, err)
			}
			if err == io.EOF {
				return Record{}, io.EOF
			}
			continue
		}
		if len(line) == 0 {
			if err == nil || err == io.EOF {
				return Record{}, io.EOF
			}
			return Record{}, fmt.Errorf("read %s after line %d: %w", y.name, y.line, err)
		}
		if err != nil && err != io.EOF {
			return Record{}, fmt.Errorf("read %s line %d: %w", y.name, y.line+1, err)
		}
		y.line++
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, perr := ParseLine(line)
		if perr != nil {
			le := &LineError{File: y.name, Line: y.line, Err: perr}
			var fe *fieldError
			if errors.As(perr, &fe) {
				le.Field, le.Err = fe.field, fe.err
			}
			y.bad.Add(le)
			continue
		}
		rec.Line, rec.End = y.line, y.bytes
		return rec, nil
	}
}

// Line is the number of lines read so far.
func (y *Reader) Line() int { return y.line }

// BytesRead is how much of the input has been consumed, for progress bars.
func (y *Reader) BytesRead() int64 { return y.bytes }

// BadLines reports the lines skipped so far: their count and the first
// MaxProblems as *LineError values.
func (y *Reader) BadLines() dataset.Problems { return y.bad }

// ReadAutoTags streams an autotags file ("photoid<TAB>concept:prob,...",
// the second field possibly empty) and calls fn for every good line. Bad
// lines are counted and skipped like metadata lines; fn returning an error
// stops the read with that error.
func ReadAutoTags(r io.Reader, name string, fn func(photoID string, tags []deepercluster.AutoTag) error) (dataset.Problems, error) {
	var bad dataset.Problems
	br := bufio.NewReaderSize(r, MaxLine+1)
	line := 0
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			bad.Add(&LineError{File: name, Line: line, Err: fmt.Errorf("%w: over %d bytes", ErrLineTooLong, MaxLine)})
			b = nil
		} else if len(b) > 0 {
			line++
		}
		if err != nil && err != io.EOF {
			return bad, fmt.Errorf("read %s line %d: %w", name, line, err)
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\r'})
		if len(bytes.TrimSpace(b)) > 0 {
			id, tags, perr := parseAutoTagLine(b)
			if perr != nil {
				bad.Add(&LineError{File: name, Line: line, Err: perr})
			} else if err := fn(id, tags); err != nil {
				return bad, err
			}
		}
		if err == io.EOF {
			return bad, nil
		}
	}
}

func parseAutoTagLine(b []byte) (string, []deepercluster.AutoTag, error) {
	if !utf8.Valid(b) {
		return "", nil, ErrInvalidUTF8
	}
	s := string(b)
	id, rest, ok := strings.Cut(s, "\t")
	if !ok {
		id, rest = s, ""
	}
	if !isDigits(id) {
		return "", nil, fmt.Errorf("photo id: %w: %q", ErrBadNumber, clip(id))
	}
	if strings.Contains(rest, "\t") {
		return "", nil, fmt.Errorf("%w: want 2", ErrFieldCount)
	}
	if rest == "" {
		return id, nil, nil
	}
	tags := make([]deepercluster.AutoTag, 0, strings.Count(rest, ",")+1)
	for part := range strings.SplitSeq(rest, ",") {
		if part == "" {
			continue
		}
		i := strings.LastIndexByte(part, ':')
		if i <= 0 {
			return "", nil, fmt.Errorf("autotag %q: want concept:prob", clip(part))
		}
		p, err := strconv.ParseFloat(part[i+1:], 32)
		if err != nil || !(p >= 0 && p <= 1) {
			return "", nil, fmt.Errorf("autotag %q: %w: probability not in [0,1]", clip(part), ErrBadNumber)
		}
		tags = append(tags, deepercluster.AutoTag{Concept: decodeText(part[:i]), Prob: float32(p)})
	}
	return id, tags, nil
}
