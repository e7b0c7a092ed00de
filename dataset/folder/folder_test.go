package folder

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
	"github.com/parquet-go/parquet-go"

	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/internal/citest"
)

// exifXPKeywords builds a JPEG APP1 Exif segment whose IFD0 holds
// XPKeywords (UTF-16LE, ';'-separated), with go-exif's IFD builder.
func exifXPKeywords(t testing.TB, keywords ...string) []byte {
	t.Helper()
	u := utf16.Encode([]rune(strings.Join(keywords, ";")))
	raw := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(raw[2*i:], c)
	}
	im, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		t.Fatal(err)
	}
	ib := exif.NewIfdBuilder(im, exif.NewTagIndex(), exifcommon.IfdStandardIfdIdentity, exifcommon.EncodeDefaultByteOrder)
	if err := ib.AddStandardWithName("XPKeywords", raw); err != nil {
		t.Fatal(err)
	}
	data, err := exif.NewIfdByteEncoder().EncodeToExif(ib)
	if err != nil {
		t.Fatal(err)
	}
	return appSegment(0xe1, append([]byte("Exif\x00\x00"), data...))
}

// xmpSegment is a JPEG APP1 XMP packet with dc:subject items.
func xmpSegment(subjects ...string) []byte {
	var li strings.Builder
	for _, s := range subjects {
		fmt.Fprintf(&li, "<rdf:li>%s</rdf:li>", s)
	}
	packet := `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">` +
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">` +
		`<dc:subject><rdf:Bag>` + li.String() + `</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
	return appSegment(0xe1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), packet...))
}

// iptcSegment is a JPEG APP13 Photoshop segment with IPTC 2:25 keywords,
// written byte by byte as the IIM and Photoshop specifications lay it out.
func iptcSegment(keywords ...string) []byte {
	var iim []byte
	iim = append(iim, 0x1c, 1, 90, 0, 3, 0x1b, '%', 'G') // coded character set: UTF-8
	for _, k := range keywords {
		iim = append(iim, 0x1c, 2, 25, byte(len(k)>>8), byte(len(k)))
		iim = append(iim, k...)
	}
	res := []byte("8BIM\x04\x04\x00\x00") // resource 0x0404, empty Pascal name padded to 2
	res = binary.BigEndian.AppendUint32(res, uint32(len(iim)))
	res = append(res, iim...)
	if len(iim)%2 == 1 {
		res = append(res, 0)
	}
	return appSegment(0xed, append([]byte("Photoshop 3.0\x00"), res...))
}

func appSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// jpegWith encodes img and splices segments in after the SOI marker.
func jpegWith(t testing.TB, img image.Image, segments ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, b.Bytes()[:2]...)
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, b.Bytes()[2:]...)
}

func writeFileAll(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadKeywords(t *testing.T) {
	img := synthetic.ScenePhoto(0, 1, 64, 48)
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		data       []byte
		exif, xmp  []string
		iptc       []string
		wantErrors bool
	}{
		{"exif", jpegWith(t, img, exifXPKeywords(t, "sea", "sand", "Köln")), []string{"sea", "sand", "Köln"}, nil, nil, false},
		{"xmp", jpegWith(t, img, xmpSegment("tower", "night &amp; day")), nil, []string{"tower", "night & day"}, nil, false},
		{"iptc", jpegWith(t, img, iptcSegment("bridge", "東京")), nil, nil, []string{"bridge", "東京"}, false},
		{"all three", jpegWith(t, img, exifXPKeywords(t, "a"), xmpSegment("b"), iptcSegment("c")), []string{"a"}, []string{"b"}, []string{"c"}, false},
		{"none", jpegWith(t, img), nil, nil, nil, false},
		{"png without", pngBuf.Bytes(), nil, nil, nil, false},
		{"broken exif", jpegWith(t, img, appSegment(0xe1, []byte("Exif\x00\x00II*\x00\xff\xff\xff\x7f"))), nil, nil, nil, true},
		{"broken iptc", jpegWith(t, img, appSegment(0xed, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x05\x1c\x02\x19\x00\x40"))), nil, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ReadKeywords(tc.data)
			if (err != nil) != tc.wantErrors {
				t.Fatalf("error %v, want error: %v", err, tc.wantErrors)
			}
			if !slices.Equal(k.EXIF, tc.exif) || !slices.Equal(k.XMP, tc.xmp) || !slices.Equal(k.IPTC, tc.iptc) {
				t.Errorf("got %+v, want EXIF %q XMP %q IPTC %q", k, tc.exif, tc.xmp, tc.iptc)
			}
			if _, _, err := image.Decode(bytes.NewReader(tc.data)); err != nil {
				t.Errorf("the image with its metadata no longer decodes: %v", err)
			}
		})
	}
}

// photoFolder writes the nested test folder and returns its path:
//
//	holidays/2019/beach/a.jpg  EXIF XPKeywords sea;sand
//	holidays/2019/beach/b.png
//	city/c.jpg                 XMP tower, night; IPTC bridge
//	city/broken.jpg            not an image (corrupt)
//	orphan.jpg                 no table row
//	notes.txt                  not an image (skipped)
func photoFolder(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "photos")
	writeFileAll(t, filepath.Join(dir, "holidays/2019/beach/a.jpg"), jpegWith(t, synthetic.ScenePhoto(4, 1, 160, 120), exifXPKeywords(t, "sea", "sand")))
	var b bytes.Buffer
	if err := png.Encode(&b, synthetic.ScenePhoto(1, 2, 120, 160)); err != nil {
		t.Fatal(err)
	}
	writeFileAll(t, filepath.Join(dir, "holidays/2019/beach/b.png"), b.Bytes())
	writeFileAll(t, filepath.Join(dir, "city/c.jpg"), jpegWith(t, synthetic.ScenePhoto(2, 3, 160, 120), xmpSegment("tower", "night"), iptcSegment("bridge")))
	writeFileAll(t, filepath.Join(dir, "city/broken.jpg"), []byte("\xff\xd8\xff\xe0 this is not a JPEG after all"))
	writeFileAll(t, filepath.Join(dir, "orphan.jpg"), jpegWith(t, synthetic.ScenePhoto(5, 4, 100, 100)))
	writeFileAll(t, filepath.Join(dir, "notes.txt"), []byte("not an image\n"))
	return dir
}

// tableRows are the rows every table format of the test holds: three that
// name an image, one whose file is missing, one for the corrupt file and
// one with neither file nor id (a bad line).
var tableRows = []map[string]any{
	{"file": "holidays/2019/beach/a.jpg", "tags": []any{"summer", "Family"}, "title": "Sandcastle", "camera": "Leica M6", "label": "beach"},
	{"file": "holidays/2019/beach/b.png", "tags": []any{"trees"}, "date": "2019-07-14", "user": "ann", "label": "forest"},
	{"file": "city/c.jpg", "description": "the old bridge by night", "label": "city"},
	{"file": "holidays/2019/missing.jpg", "tags": []any{"lost"}},
	{"file": "city/broken.jpg", "tags": []any{"broken"}},
	{"title": "a row that names no image"},
}

var tableCols = []string{"file", "tags", "title", "description", "date", "user", "label", "camera"}

func writeCSV(t testing.TB, path string, sep string) {
	var b strings.Builder
	b.WriteString(strings.Join(tableCols, sep) + "\n")
	for _, r := range tableRows {
		var f []string
		for _, c := range tableCols {
			v := r[c]
			if l, ok := v.([]any); ok {
				var s []string
				for _, e := range l {
					s = append(s, e.(string))
				}
				v = strings.Join(s, ",")
			}
			s, _ := v.(string)
			if sep == "," && strings.ContainsAny(s, ",\"") {
				s = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			}
			f = append(f, s)
		}
		b.WriteString(strings.Join(f, sep) + "\n")
	}
	writeFileAll(t, path, []byte(b.String()))
}

func writeJSONL(t testing.TB, path string) {
	var b bytes.Buffer
	for _, r := range tableRows {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	writeFileAll(t, path, b.Bytes())
}

// parquetRow is a row of the Parquet table: optional columns, tags as a
// list.
type parquetRow struct {
	File        *string  `parquet:"file,optional"`
	Tags        []string `parquet:"tags,list"`
	Title       *string  `parquet:"title,optional"`
	Description *string  `parquet:"description,optional"`
	Date        *string  `parquet:"date,optional"`
	User        *string  `parquet:"user,optional"`
	Label       *string  `parquet:"label,optional"`
	Camera      *string  `parquet:"camera,optional"`
}

func writeParquet(t testing.TB, path string) {
	opt := func(r map[string]any, k string) *string {
		if s, ok := r[k].(string); ok {
			return &s
		}
		return nil
	}
	var rows []parquetRow
	for _, r := range tableRows {
		var tags []string
		for _, e := range r["tags"].([]any) {
			tags = append(tags, e.(string))
		}
		rows = append(rows, parquetRow{File: opt(r, "file"), Tags: tags, Title: opt(r, "title"), Description: opt(r, "description"),
			Date: opt(r, "date"), User: opt(r, "user"), Label: opt(r, "label"), Camera: opt(r, "camera")})
	}
	var b bytes.Buffer
	if err := parquet.Write(&b, rows); err != nil {
		t.Fatal(err)
	}
	writeFileAll(t, path, b.Bytes())
}

func init() {
	for _, r := range tableRows {
		if _, ok := r["tags"]; !ok {
			r["tags"] = []any{}
		}
	}
}

// byFile indexes a dataset directory's entries by file.
func byFile(t *testing.T, d *dataset.Dir) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range d.Len() {
		m, err := d.MetaErr(i)
		if err != nil {
			t.Fatal(err)
		}
		out[m.File] = i
	}
	return out
}

func TestIngestFolderWithTables(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t testing.TB, path string)
		ext   string
	}{
		{"none", nil, ""},
		{"csv", func(t testing.TB, p string) { writeCSV(t, p, ",") }, ".csv"},
		{"tsv", func(t testing.TB, p string) { writeCSV(t, p, "\t") }, ".tsv"},
		{"jsonl", writeJSONL, ".jsonl"},
		{"parquet", writeParquet, ".parquet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := photoFolder(t)
			meta := ""
			if tc.write != nil {
				meta = filepath.Join(filepath.Dir(dir), "meta"+tc.ext)
				tc.write(t, meta)
			}
			out := filepath.Join(t.TempDir(), "ds")
			var calls int
			m, err := Ingest(context.Background(), Config{Images: dir, Meta: meta, Out: out, Size: 32, ThumbPx: 64, Workers: 2,
				Progress: func(done, total, images int) { calls++ }})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("problems: %q", m.Problems)
			// Five image files, one corrupt: four images kept, whatever the table.
			want := dataset.Manifest{Images: 4, ImageFiles: 5, MissingImages: 1, CorruptImages: 1, SkippedFiles: 1}
			if meta != "" {
				want.Lines, want.BadLines, want.MissingFiles, want.FilesWithoutRow = 6, 1, 1, 1
			}
			got := dataset.Manifest{Images: m.Images, ImageFiles: m.ImageFiles, MissingImages: m.MissingImages, CorruptImages: m.CorruptImages,
				SkippedFiles: m.SkippedFiles, Lines: m.Lines, BadLines: m.BadLines, MissingFiles: m.MissingFiles, FilesWithoutRow: m.FilesWithoutRow}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("counts\n got %+v\nwant %+v", got, want)
			}
			if calls == 0 {
				t.Error("progress never reported")
			}
			problems := strings.Join(m.Problems, "\n")
			wantProblems := []string{"city/broken.jpg: image corrupt"}
			if meta != "" {
				wantProblems = append(wantProblems, "line 5: field file: holidays/2019/missing.jpg: no such image",
					"line 7: field file: empty", "orphan.jpg: no row in")
				if tc.name == "parquet" {
					wantProblems[1], wantProblems[2] = "meta.parquet row 4: field file: holidays/2019/missing.jpg", "meta.parquet row 6: field file: empty"
				}
				if tc.name == "jsonl" {
					wantProblems[1], wantProblems[2] = "line 4: field file: holidays/2019/missing.jpg", "line 6: field file: empty"
				}
			}
			for _, p := range wantProblems {
				if !strings.Contains(problems, p) {
					t.Errorf("problems do not say %q:\n%s", p, problems)
				}
			}

			d, err := dataset.OpenDir(out)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			idx := byFile(t, d)
			tags := func(f string) []string { return d.Meta(idx[f]).Tags }
			type exp struct {
				file string
				tags []string
			}
			exps := []exp{
				{"holidays/2019/beach/a.jpg", []string{"sea", "sand", "holidays", "2019", "beach"}},
				{"holidays/2019/beach/b.png", []string{"holidays", "2019", "beach"}},
				{"city/c.jpg", []string{"tower", "night", "bridge", "city"}},
				{"orphan.jpg", nil},
			}
			if meta != "" {
				exps[0].tags = append([]string{"summer", "Family"}, exps[0].tags...)
				exps[1].tags = append([]string{"trees"}, exps[1].tags...)
			}
			for _, e := range exps {
				if _, ok := idx[e.file]; !ok {
					t.Errorf("%s not in the dataset", e.file)
					continue
				}
				if got := tags(e.file); !slices.Equal(got, e.tags) {
					t.Errorf("%s: tags %q, want %q", e.file, got, e.tags)
				}
			}
			a := d.Meta(idx["holidays/2019/beach/a.jpg"])
			if meta != "" {
				if a.Title != "Sandcastle" || a.Extra["camera"] != "Leica M6" {
					t.Errorf("a.jpg: title %q, extra %v", a.Title, a.Extra)
				}
				b := d.Meta(idx["holidays/2019/beach/b.png"])
				if b.User != "ann" || b.Taken.Format("2006-01-02") != "2019-07-14" {
					t.Errorf("b.png: user %q, taken %v", b.User, b.Taken)
				}
				if l, ok := d.Label(idx["city/c.jpg"]); !ok || d.Manifest().LabelNames[l] != "city" {
					t.Errorf("c.jpg: label %d %v of %q", l, ok, d.Manifest().LabelNames)
				}
				if _, ok := d.Label(idx["orphan.jpg"]); ok {
					t.Error("orphan.jpg has a label")
				}
			} else if a.PhotoID != "holidays/2019/beach/a.jpg" {
				t.Errorf("photo id %q, want the relative path", a.PhotoID)
			}
			// Display copies: JPEGs of at most 64 px, aspect kept.
			if d.DisplaySize() != 64 {
				t.Errorf("display size %d", d.DisplaySize())
			}
			for f, wh := range map[string][2]int{"holidays/2019/beach/a.jpg": {64, 48}, "holidays/2019/beach/b.png": {48, 64}, "orphan.jpg": {64, 64}} {
				jb, err := d.DisplayJPEG(idx[f])
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(jb))
				if err != nil || cfg.Width != wh[0] || cfg.Height != wh[1] {
					t.Errorf("%s: display copy %dx%d (%v), want %dx%d", f, cfg.Width, cfg.Height, err, wh[0], wh[1])
				}
			}
		})
	}
}

func TestReadMetaTableBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		rows       int
		want       []string // in the problems, in order
	}{
		{"t.csv", "file,tags\na.jpg,x\nb.jpg,y,extra\n\"c.jpg,z\n", 1, []string{"t.csv line 3: 3 fields, the header has 2", "t.csv line 4"}},
		{"t.jsonl", "{\"file\":\"a.jpg\"}\nnot json\n{\"file\":\"b.jpg\",\"tags\":{\"x\":1}}\n{\"file\":\"../etc/passwd\"}\n", 1,
			[]string{"t.jsonl line 2: not a JSON object", "t.jsonl line 3: field tags", "t.jsonl line 4: field file: \"../etc/passwd\" is not a path inside"}},
		{"d.tsv", "id\tdate\nx\t2019-13-45\ny\t2019-01-02\n", 2, []string{"d.tsv line 2: field date"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			writeFileAll(t, p, []byte(tc.body))
			rows, bad, err := ReadMetaTable(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.rows || bad.Count != len(tc.want) {
				t.Fatalf("%d rows, %d bad (%v); want %d rows, %d bad", len(rows), bad.Count, bad.First, tc.rows, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(bad.First[i].Error(), w) {
					t.Errorf("problem %d: %q does not say %q", i, bad.First[i], w)
				}
			}
		})
	}
	if _, _, err := ReadMetaTable(context.Background(), filepath.Join(dir, "t.xlsx")); err == nil {
		t.Error("an .xlsx table was accepted")
	}
	writeFileAll(t, filepath.Join(dir, "bad.parquet"), []byte("PAR1 not really"))
	if _, _, err := ReadMetaTable(context.Background(), filepath.Join(dir, "bad.parquet")); err == nil || !strings.Contains(err.Error(), "bad.parquet") {
		t.Errorf("a broken Parquet file: %v", err)
	}
}

func TestIngestFolderMatchesByIDAndSkipsSymlinksOut(t *testing.T) {
	dir := photoFolder(t)
	outside := filepath.Join(t.TempDir(), "secret.jpg")
	writeFileAll(t, outside, jpegWith(t, synthetic.ScenePhoto(0, 9, 40, 30)))
	if err := os.Symlink(outside, filepath.Join(dir, "link-out.jpg")); err != nil {
		citest.Missing(t, "no symlinks on this file system: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "orphan.jpg"), filepath.Join(dir, "city", "link-in.jpg")); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(filepath.Dir(dir), "ids.csv")
	writeFileAll(t, meta, []byte("id,tags\nc,\"by id\"\norphan,\"by name\"\n"))
	out := filepath.Join(dir, ".cache", "ds") // inside the folder, hidden: not walked
	m, err := Ingest(context.Background(), Config{Images: dir, Meta: meta, Out: out, Size: 16, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m.Images != 5 || m.MissingFiles != 0 || !strings.Contains(strings.Join(m.Problems, "\n"), "link-out.jpg: symlink to") {
		t.Errorf("images %d, missing files %d, problems %q", m.Images, m.MissingFiles, m.Problems)
	}
	d, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	idx := byFile(t, d)
	if got := d.Meta(idx["city/c.jpg"]); got.PhotoID != "c" || got.Tags[0] != "by id" {
		t.Errorf("c.jpg: %+v", got)
	}
	if got := d.Meta(idx["orphan.jpg"]).Tags; !slices.Equal(got, []string{"by name"}) {
		t.Errorf("orphan.jpg tags %q", got)
	}
	if got := d.Meta(idx["city/link-in.jpg"]).Tags; !slices.Equal(got, []string{"city"}) {
		t.Errorf("link-in.jpg tags %q", got)
	}
}

func TestOpenFolderReusesCacheUntilTheFolderChanges(t *testing.T) {
	dir := photoFolder(t)
	cache := filepath.Join(t.TempDir(), "run", "dataset")
	cfg := Config{Images: dir, Out: cache, Size: 16, ThumbPx: 32}
	for i, step := range []struct {
		change       func()
		ingested     bool
		images, size int
	}{
		{nil, true, 4, 16},
		{nil, false, 4, 16},
		{func() {
			writeFileAll(t, filepath.Join(dir, "new/d.jpg"), jpegWith(t, synthetic.ScenePhoto(3, 5, 50, 40)))
		}, true, 5, 16},
		{func() { cfg.Size = 24 }, true, 5, 24},
		{nil, false, 5, 24},
	} {
		if step.change != nil {
			step.change()
		}
		d, ingested, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if ingested != step.ingested || d.Len() != step.images || d.Resolution() != step.size {
			t.Errorf("step %d: ingested %v, %d images at %d px; want %v, %d at %d", i, ingested, d.Len(), d.Resolution(), step.ingested, step.images, step.size)
		}
		d.Close()
	}
}

func TestIngestFolderCancelledLeavesNothing(t *testing.T) {
	dir := photoFolder(t)
	out := filepath.Join(t.TempDir(), "ds")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Ingest(ctx, Config{Images: dir, Out: out, Size: 16}); err == nil {
		t.Fatal("a cancelled ingest succeeded")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
