package yfcc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
)

// sampleFields is the public sample record of photo 7088065 by
// 30302697@N00 in the 23-column layout, one field per element.
var sampleFields = []string{
	"7088065", "30302697@N00", "pirate+jen", "2005-06-12 14:52:41.0", "1118596361",
	"Canon+PowerShot+S410", "Gnome+prank", "The+gnome+went+to+%22bush+school%22",
	"2005,bushschool,gnome,prank,washington", "", "-77.036133", "38.898556", "16",
	"http://www.flickr.com/photos/30302697@N00/7088065/",
	"http://farm1.staticflickr.com/6/7088065_3c2cfb0a3b.jpg",
	"Attribution-NonCommercial-ShareAlike License",
	"http://creativecommons.org/licenses/by-nc-sa/2.0/",
	"6", "1", "3c2cfb0a3b", "3c2cfb0a3b", "jpg", "0",
}

const sampleHash = "0d6f2f0e8bcbb1ddb1b9d5a7d4c0c0fe"

func line23(mod func(f []string)) string {
	f := slices.Clone(sampleFields)
	if mod != nil {
		mod(f)
	}
	return strings.Join(f, "\t")
}

func line25(num int, hash string, mod func(f []string)) string {
	f := slices.Clone(sampleFields)
	if mod != nil {
		mod(f)
	}
	f = append([]string{fmt.Sprint(num), f[0], hash}, f[1:]...)
	return strings.Join(f, "\t")
}

func TestParseYFCCLineSample(t *testing.T) {
	for _, tc := range []struct {
		name   string
		line   string
		number int64
		hash   string
	}{
		{"23 columns", line23(nil), -1, ""},
		{"25 columns", line25(0, sampleHash, nil), 0, sampleHash},
		{"25 columns upper-case hash", line25(41, strings.ToUpper(sampleHash), nil), 41, sampleHash},
		{"CRLF", line23(nil) + "\r", -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseLine([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			m := r.Meta
			if m.PhotoID != "7088065" || m.User != "30302697@N00" || r.Nickname != "pirate jen" {
				t.Errorf("ids: %q %q %q", m.PhotoID, m.User, r.Nickname)
			}
			if want := []string{"2005", "bushschool", "gnome", "prank", "washington"}; !slices.Equal(m.Tags, want) {
				t.Errorf("tags %q, want %q", m.Tags, want)
			}
			if m.MachineTags != nil {
				t.Errorf("machine tags %q, want none", m.MachineTags)
			}
			if want := time.Date(2005, 6, 12, 14, 52, 41, 0, time.UTC); !m.Taken.Equal(want) {
				t.Errorf("taken %v, want %v", m.Taken, want)
			}
			if want := time.Unix(1118596361, 0); !r.Uploaded.Equal(want) {
				t.Errorf("uploaded %v, want %v", r.Uploaded, want)
			}
			if m.Title != "Gnome prank" || m.Description != `The gnome went to "bush school"` || m.Device != "Canon PowerShot S410" {
				t.Errorf("text fields %q %q %q", m.Title, m.Description, m.Device)
			}
			if !r.HasGeo || r.Longitude != -77.036133 || r.Latitude != 38.898556 {
				t.Errorf("geo %v %v %v", r.HasGeo, r.Longitude, r.Latitude)
			}
			if r.DownloadURL != sampleFields[14] || r.Extension != "jpg" || r.Marker != 0 {
				t.Errorf("download %q ext %q marker %d", r.DownloadURL, r.Extension, r.Marker)
			}
			if r.Number != tc.number || m.Hash != tc.hash {
				t.Errorf("number %d hash %q, want %d %q", r.Number, m.Hash, tc.number, tc.hash)
			}
			ph := r.PhotoHash()
			if len(ph) != 32 || !isHex(ph) || (tc.hash != "" && ph != tc.hash) {
				t.Errorf("photo hash %q", ph)
			}
		})
	}
}

func TestParseYFCCLineFields(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(f []string)
		check func(t *testing.T, r Record)
	}{
		{"plus is space, %2B is plus, non-ASCII", func(f []string) {
			f[8] = "new+york,c%2B%2B,k%C3%B6ln,%E6%9D%B1%E4%BA%AC,caf%c3%a9,plain"
		}, func(t *testing.T, r Record) {
			if want := []string{"new york", "c++", "köln", "東京", "café", "plain"}; !slices.Equal(r.Meta.Tags, want) {
				t.Errorf("tags %q, want %q", r.Meta.Tags, want)
			}
		}},
		{"comma inside a tag survives as %2C", func(f []string) { f[8] = "a%2Cb,c" }, func(t *testing.T, r Record) {
			if want := []string{"a,b", "c"}; !slices.Equal(r.Meta.Tags, want) {
				t.Errorf("tags %q, want %q", r.Meta.Tags, want)
			}
		}},
		{"raw UTF-8 tags and empty tags dropped", func(f []string) { f[8] = ",été,,ß," }, func(t *testing.T, r Record) {
			if want := []string{"été", "ß"}; !slices.Equal(r.Meta.Tags, want) {
				t.Errorf("tags %q, want %q", r.Meta.Tags, want)
			}
		}},
		{"machine tags", func(f []string) { f[9] = "geo%3Alat%3D38.89,camera%3Amake%3DCanon" }, func(t *testing.T, r Record) {
			if want := []string{"geo:lat=38.89", "camera:make=Canon"}; !slices.Equal(r.Meta.MachineTags, want) {
				t.Errorf("machine tags %q, want %q", r.Meta.MachineTags, want)
			}
		}},
		{"all optional fields empty", func(f []string) {
			for _, i := range []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22} {
				f[i] = ""
			}
		}, func(t *testing.T, r Record) {
			if r.Meta.PhotoID != "7088065" || r.Meta.Tags != nil || !r.Meta.Taken.IsZero() || r.HasGeo || r.PhotoHash() != r.Meta.Hash {
				t.Errorf("record %+v", r)
			}
		}},
		{"junk date year 4501", func(f []string) { f[3] = "4501-01-01 00:00:00.0" }, zeroTaken},
		{"junk date garbage", func(f []string) { f[3] = "yesterday at noon, more or less" }, zeroTaken},
		{"junk date 31 February", func(f []string) { f[3] = "2010-02-31 10:00:00.0" }, zeroTaken},
		{"junk date letters in digits", func(f []string) { f[3] = "20x0-01-01 10:00:00" }, zeroTaken},
		{"junk upload time", func(f []string) { f[4] = "soon" }, func(t *testing.T, r Record) {
			if !r.Uploaded.IsZero() {
				t.Errorf("uploaded %v, want zero", r.Uploaded)
			}
		}},
		{"bad encoding in title keeps raw text", func(f []string) { f[6] = "100%+sure" }, func(t *testing.T, r Record) {
			if r.Meta.Title != "100%+sure" {
				t.Errorf("title %q", r.Meta.Title)
			}
		}},
		{"video marker", func(f []string) { f[22] = "1" }, func(t *testing.T, r Record) {
			if r.Marker != 1 {
				t.Errorf("marker %d", r.Marker)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range []string{line23(tc.mod), line25(7, sampleHash, tc.mod)} {
				r, err := ParseLine([]byte(l))
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, r)
			}
		})
	}
}

func zeroTaken(t *testing.T, r Record) {
	t.Helper()
	if !r.Meta.Taken.IsZero() {
		t.Errorf("taken %v, want zero time", r.Meta.Taken)
	}
}

func TestParseYFCCLineBad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		line  string
		want  error
		field string
	}{
		{"too few fields", strings.Join(sampleFields[:20], "\t"), ErrFieldCount, ""},
		{"24 fields", line23(nil) + "\textra", ErrFieldCount, ""},
		{"too many fields", line23(nil) + "\ta\tb\tc", ErrFieldCount, ""},
		{"empty photo id", line23(func(f []string) { f[0] = "" }), ErrBadNumber, "photo id"},
		{"photo id not a number", line23(func(f []string) { f[0] = "70880x65" }), ErrBadNumber, "photo id"},
		{"photo id overflows", line23(func(f []string) { f[0] = "99999999999999999999" }), ErrBadNumber, "photo id"},
		{"negative photo id", line23(func(f []string) { f[0] = "-7" }), ErrBadNumber, "photo id"},
		{"line number not a number", strings.Replace(line25(3, sampleHash, nil), "3", "three", 1), ErrBadNumber, "line number"},
		{"hash not hex", line25(3, "zz6f2f0e8bcbb1ddb1b9d5a7d4c0c0fe", nil), ErrBadNumber, "photo hash"},
		{"hash too long", line25(3, sampleHash+"00", nil), ErrBadNumber, "photo hash"},
		{"longitude garbage", line23(func(f []string) { f[10] = "east" }), ErrBadNumber, "longitude"},
		{"latitude out of range", line23(func(f []string) { f[11] = "91.5" }), ErrBadNumber, "latitude"},
		{"marker garbage", line23(func(f []string) { f[22] = "photo" }), ErrBadNumber, "marker"},
		{"bad percent-encoding in tag", line23(func(f []string) { f[8] = "ok,100%zz,fine" }), ErrBadEncoding, "user tags"},
		{"truncated percent-encoding", line23(func(f []string) { f[8] = "ok,abc%4" }), ErrBadEncoding, "user tags"},
		{"tag decodes to invalid UTF-8", line23(func(f []string) { f[8] = "caf%E9" }), ErrBadEncoding, "user tags"},
		{"bad machine tag", line23(func(f []string) { f[9] = "a%G1" }), ErrBadEncoding, "machine tags"},
		{"invalid UTF-8", line23(func(f []string) { f[6] = "caf\xe9" }), ErrInvalidUTF8, ""},
		{"1 MB line", line23(func(f []string) { f[7] = strings.Repeat("a", 1<<20) }), ErrLineTooLong, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLine([]byte(tc.line))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var fe *fieldError
			if !errors.As(err, &fe) || fe.field != tc.field {
				t.Errorf("error %v names field %q, want %q", err, fe.field, tc.field)
			}
		})
	}
}

// TestYFCCReaderSkipsBadLines reads a file mixing good and bad lines, in
// both layouts: good lines all come through in order, bad ones are counted
// with their line numbers, and a 1 MB line does not stop the read.
func TestYFCCReaderSkipsBadLines(t *testing.T) {
	id := func(n int) func(f []string) { return func(f []string) { f[0] = fmt.Sprint(n) } }
	lines := []string{
		line23(id(1)),                            // 1 good
		"too\tfew\tfields",                       // 2 bad
		line25(2, sampleHash, id(2)),             // 3 good
		line23(func(f []string) { f[0] = "x1" }), // 4 bad number
		"",                                       // 5 blank, skipped silently
		line23(func(f []string) { f[8] = "%zz" }),                          // 6 bad encoding
		line23(func(f []string) { f[6] = "\xff\xfe" }),                     // 7 invalid UTF-8
		line23(func(f []string) { f[7] = strings.Repeat("long ", 1<<18) }), // 8 over-long (1.25 MB)
		line23(id(3)), // 9 good
		line23(id(4)), // 10 good, no final newline
	}
	in := strings.Join(lines, "\n")
	r := NewReader(strings.NewReader(in), "meta.tsv")
	var got []string
	var gotLines []int
	var gotEnds []int64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.Meta.PhotoID)
		gotLines = append(gotLines, rec.Line)
		gotEnds = append(gotEnds, rec.End)
	}
	if want := []string{"1", "2", "3", "4"}; !slices.Equal(got, want) {
		t.Errorf("photo ids %q, want %q", got, want)
	}
	if want := []int{1, 3, 9, 10}; !slices.Equal(gotLines, want) {
		t.Errorf("lines %v, want %v", gotLines, want)
	}
	if want := int64(len(strings.Join(lines[:3], "\n")) + 1); gotEnds[1] != want {
		t.Errorf("end of line 3 at %d, want %d", gotEnds[1], want)
	}
	bad := r.BadLines()
	if bad.Count != 5 || len(bad.First) != 5 {
		t.Fatalf("bad lines %d (%d kept), want 5: %v", bad.Count, len(bad.First), bad.First)
	}
	wantBad := []struct {
		line int
		err  error
	}{{2, ErrFieldCount}, {4, ErrBadNumber}, {6, ErrBadEncoding}, {7, ErrInvalidUTF8}, {8, ErrLineTooLong}}
	for i, w := range wantBad {
		var le *LineError
		if !errors.As(bad.First[i], &le) || le.Line != w.line || !errors.Is(le, w.err) || le.File != "meta.tsv" {
			t.Errorf("problem %d: %v, want line %d %v", i, bad.First[i], w.line, w.err)
		}
		if !strings.Contains(bad.First[i].Error(), fmt.Sprintf("meta.tsv line %d", w.line)) {
			t.Errorf("problem %d does not name file and line: %v", i, bad.First[i])
		}
	}
	if r.Line() != 10 || r.BytesRead() != int64(len(in)) {
		t.Errorf("lines %d bytes %d, want 10 and %d", r.Line(), r.BytesRead(), len(in))
	}
}

func TestYFCCReaderKeepsFirstProblems(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "bad line %d\n", i)
	}
	b.WriteString(line23(nil) + "\n")
	r := NewReader(strings.NewReader(b.String()), "x")
	rec, err := r.Next()
	if err != nil || rec.Line != 51 {
		t.Fatalf("record at line %d, err %v; want line 51", rec.Line, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	bad := r.BadLines()
	if bad.Count != 50 || len(bad.First) != dataset.MaxProblems {
		t.Errorf("bad %d kept %d, want 50 and %d", bad.Count, len(bad.First), dataset.MaxProblems)
	}
}

func TestReadAutoTags(t *testing.T) {
	in := "7088065\toutdoor:0.912,people:0.501\n" +
		"7088066\t\n" +
		"7088067\n" +
		"notanid\tsky:0.5\n" +
		"7088068\tsky:1.7\n" +
		"7088069\tsky\n" +
		"7088070\tsky+blue:0.25\n" +
		"7088071\t" + strings.Repeat("x:0.1,", 200000) + "\n" +
		"7088072\tlast:0.5"
	got := map[string][]deepercluster.AutoTag{}
	bad, err := ReadAutoTags(strings.NewReader(in), "auto.tsv", func(id string, tags []deepercluster.AutoTag) error {
		got[id] = tags
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Count != 4 {
		t.Errorf("bad lines %d, want 4: %v", bad.Count, bad.First)
	}
	if g := got["7088072"]; len(g) != 1 || g[0].Concept != "last" {
		t.Errorf("line after the over-long one: %v", g)
	}
	for i, l := range []int{4, 5, 6, 8} {
		var le *LineError
		if i < len(bad.First) && (!errors.As(bad.First[i], &le) || le.Line != l) {
			t.Errorf("problem %d: %v, want line %d", i, bad.First[i], l)
		}
	}
	if want := []deepercluster.AutoTag{{Concept: "outdoor", Prob: 0.912}, {Concept: "people", Prob: 0.501}}; !slices.Equal(got["7088065"], want) {
		t.Errorf("autotags %v, want %v", got["7088065"], want)
	}
	for _, id := range []string{"7088066", "7088067"} {
		if tags, ok := got[id]; !ok || len(tags) != 0 {
			t.Errorf("photo %s: %v %v, want present and empty", id, tags, ok)
		}
	}
	if g := got["7088070"]; len(g) != 1 || g[0].Concept != "sky blue" {
		t.Errorf("decoded concept %v", g)
	}
}

// FuzzYFCCLine checks that the parser never panics, and that whatever it
// accepts keeps the invariants the rest of the program relies on.
func FuzzYFCCLine(f *testing.F) {
	f.Add(line23(nil))
	f.Add(line25(0, sampleHash, nil))
	f.Add(line23(func(f []string) { f[8] = "new+york,c%2B%2B,k%C3%B6ln" }))
	f.Add(line23(func(f []string) { f[3] = "4501-01-01 00:00:00.0" }))
	f.Add("1\t2\t3")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseLine([]byte(line))
		if err != nil {
			if r.Meta.PhotoID != "" && errors.Is(err, ErrFieldCount) {
				t.Fatalf("field count error but photo id %q", r.Meta.PhotoID)
			}
			return
		}
		if !isDigits(r.Meta.PhotoID) {
			t.Fatalf("photo id %q is not a number", r.Meta.PhotoID)
		}
		if n := strings.Count(strings.TrimSuffix(line, "\r"), "\t") + 1; n != Columns && n != ColumnsNumbered {
			t.Fatalf("accepted %d fields", n)
		}
		for _, tags := range [][]string{r.Meta.Tags, r.Meta.MachineTags} {
			for _, tag := range tags {
				if tag == "" || !utf8.ValidString(tag) {
					t.Fatalf("tag %q empty or invalid UTF-8", tag)
				}
			}
		}
		for _, s := range []string{r.Meta.Title, r.Meta.Description, r.Meta.Device, r.Meta.User, r.Nickname} {
			if !utf8.ValidString(s) {
				t.Fatalf("text %q is invalid UTF-8", s)
			}
		}
		if !r.Meta.Taken.IsZero() && (r.Meta.Taken.Year() < 1826 || r.Meta.Taken.Year() > 2100) {
			t.Fatalf("taken %v outside the plausible range", r.Meta.Taken)
		}
		if r.Meta.Hash != "" && (!isHex(r.Meta.Hash) || len(r.Meta.Hash) > 32 || strings.ToLower(r.Meta.Hash) != r.Meta.Hash) {
			t.Fatalf("hash %q", r.Meta.Hash)
		}
		if r.HasGeo && !(r.Latitude >= -90 && r.Latitude <= 90 && r.Longitude >= -180 && r.Longitude <= 180) {
			t.Fatalf("geo %v %v", r.Latitude, r.Longitude)
		}
		// Parsing the same line again gives the same record.
		r2, err := ParseLine([]byte(line))
		if err != nil || !slices.Equal(r.Meta.Tags, r2.Meta.Tags) || r.Meta.PhotoID != r2.Meta.PhotoID {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

// FuzzQueryUnescape checks the hand-written decoder against net/url.
func FuzzQueryUnescape(f *testing.F) {
	for _, s := range []string{"a+b", "c%2B%2B", "%", "%4", "%zz", "k%C3%B6ln", "", "100%+sure"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := queryUnescape(s)
		want, err := url.QueryUnescape(s)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("queryUnescape(%q) = %q %v, net/url: %q %v", s, got, ok, want, err)
		}
	})
}

// TestReadYFCCMatchesReader checks the parallel reader against the
// sequential one on a file with good, bad, blank and over-long lines,
// spread over many batches.
func TestReadYFCCMatchesReader(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		switch {
		case i%97 == 5:
			b.WriteString("bad\tline\n")
		case i%500 == 7:
			b.WriteString(line23(func(f []string) { f[7] = strings.Repeat("x", MaxLine) }) + "\n")
		case i%301 == 0:
			b.WriteString("\n")
		default:
			b.WriteString(line23(func(f []string) { f[0] = fmt.Sprint(i + 1) }) + "\n")
		}
	}
	in := b.String()
	seq := NewReader(strings.NewReader(in), "f")
	var want []Record
	for {
		r, err := seq.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	for _, workers := range []int{1, 2, 5} {
		var got []Record
		st, err := Read(context.Background(), strings.NewReader(in), "f", workers, func(r Record) error {
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("workers %d: %d records, want %d", workers, len(got), len(want))
		}
		for i := range got {
			if got[i].Line != want[i].Line || got[i].Meta.PhotoID != want[i].Meta.PhotoID || got[i].End != want[i].End {
				t.Fatalf("workers %d: record %d line %d photo %s, want line %d photo %s", workers, i, got[i].Line, got[i].Meta.PhotoID, want[i].Line, want[i].Meta.PhotoID)
			}
		}
		wb := seq.BadLines()
		if st.Lines != seq.Line() || st.Bad.Count != wb.Count || len(st.Bad.First) != len(wb.First) {
			t.Fatalf("workers %d: lines %d bad %d, want %d %d", workers, st.Lines, st.Bad.Count, seq.Line(), wb.Count)
		}
		for i := range wb.First {
			if st.Bad.First[i].Error() != wb.First[i].Error() {
				t.Errorf("problem %d: %v, want %v", i, st.Bad.First[i], wb.First[i])
			}
		}
	}
	// fn's error stops the read; so does a cancelled context.
	stop := errors.New("stop")
	n := 0
	_, err := Read(context.Background(), strings.NewReader(in), "f", 2, func(Record) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("fn error: %v after %d records", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Read(ctx, strings.NewReader(in), "f", 2, func(Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
