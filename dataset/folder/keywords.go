package folder

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// Keywords are the keywords embedded in an image file, by source. Sources
// read: EXIF XPKeywords (tag 0x9C9E of IFD0, UTF-16LE, ';'-separated;
// parsed with github.com/dsoprea/go-exif/v3), XMP dc:subject (the
// rdf:Bag/rdf:Seq items of the XMP packet; parsed with encoding/xml) and
// IPTC IIM 2:25 Keywords (in the Photoshop 3.0 8BIM resource 0x0404;
// parsed here: the record layout is a few bytes and no maintained Go IPTC
// library is available to us). Containers: JPEG (APP1 Exif, APP1 XMP,
// APP13), PNG (eXIf, iTXt XML:com.adobe.xmp) and WebP (EXIF, XMP chunks).
type Keywords struct {
	EXIF, XMP, IPTC []string
}

// All is every keyword once, EXIF first, then XMP, then IPTC.
func (k Keywords) All() []string {
	var out []string
	for _, l := range [][]string{k.EXIF, k.XMP, k.IPTC} {
		for _, t := range l {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// exifIndex is go-exif's tag index and IFD mapping, built once (building
// them parses the library's tag table) and shared: both lock inside.
var exifIndex = sync.OnceValues(func() (*exif.TagIndex, *exifcommon.IfdMapping) {
	im, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		panic(fmt.Sprintf("go-exif: standard IFD mapping: %v", err))
	}
	return exif.NewTagIndex(), im
})

// tagXPKeywords is the EXIF tag Windows writes keywords to.
const tagXPKeywords = 0x9c9e

// ReadKeywords finds the embedded keywords of an image file's bytes.
// Metadata that does not parse is an error (the keywords found in the
// other sources are still returned): the image itself may be fine.
func ReadKeywords(data []byte) (Keywords, error) {
	var k Keywords
	var errs []error
	var tiff, xmp, iptc []byte
	switch {
	case len(data) > 3 && data[0] == 0xff && data[1] == 0xd8:
		tiff, xmp, iptc = jpegSegments(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		tiff, xmp = pngChunks(data)
	case len(data) > 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		tiff, xmp = webpChunks(data)
	}
	if len(tiff) > 0 {
		kw, err := exifKeywords(tiff)
		k.EXIF = kw
		if err != nil {
			errs = append(errs, fmt.Errorf("EXIF: %w", err))
		}
	}
	if len(xmp) > 0 {
		kw, err := xmpSubjects(xmp)
		k.XMP = kw
		if err != nil {
			errs = append(errs, fmt.Errorf("XMP: %w", err))
		}
	}
	if len(iptc) > 0 {
		kw, err := iptcKeywords(iptc)
		k.IPTC = kw
		if err != nil {
			errs = append(errs, fmt.Errorf("IPTC: %w", err))
		}
	}
	return k, errors.Join(errs...)
}

var (
	exifHeader = []byte("Exif\x00\x00")
	xmpHeader  = []byte("http://ns.adobe.com/xap/1.0/\x00")
	psHeader   = []byte("Photoshop 3.0\x00")
)

// jpegSegments returns the payloads of the EXIF, XMP and Photoshop (IPTC)
// segments of a JPEG, reading markers up to the start of scan.
func jpegSegments(data []byte) (tiff, xmp, ps []byte) {
	p := 2
	for p+4 <= len(data) {
		if data[p] != 0xff {
			return
		}
		marker := data[p+1]
		if marker == 0xff { // fill byte
			p++
			continue
		}
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			p += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return
		}
		seg := data[p+4 : p+2+n]
		switch {
		case marker == 0xe1 && bytes.HasPrefix(seg, exifHeader) && tiff == nil:
			tiff = seg[len(exifHeader):]
		case marker == 0xe1 && bytes.HasPrefix(seg, xmpHeader) && xmp == nil:
			xmp = seg[len(xmpHeader):]
		case marker == 0xed && bytes.HasPrefix(seg, psHeader):
			ps = append(ps, seg[len(psHeader):]...)
		}
		p += 2 + n
	}
	return
}

// pngChunks returns the eXIf chunk and the XMP text of a PNG.
func pngChunks(data []byte) (tiff, xmp []byte) {
	p := 8
	for p+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		if n < 0 || p+12+n > len(data) {
			return
		}
		body := data[p+8 : p+8+n]
		switch typ {
		case "eXIf":
			tiff = body
		case "iTXt":
			// keyword\0 compression-flag compression-method lang\0 translated\0 text
			kw, rest, ok := bytes.Cut(body, []byte{0})
			if ok && string(kw) == "XML:com.adobe.xmp" && len(rest) > 2 && rest[0] == 0 {
				rest = rest[2:]
				if _, rest, ok = bytes.Cut(rest, []byte{0}); ok {
					if _, rest, ok = bytes.Cut(rest, []byte{0}); ok {
						xmp = rest
					}
				}
			}
		case "IDAT", "IEND":
			if typ == "IEND" {
				return
			}
		}
		p += 12 + n
	}
	return
}

// webpChunks returns the EXIF and XMP chunks of a WebP file.
func webpChunks(data []byte) (tiff, xmp []byte) {
	p := 12
	for p+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		if n < 0 || p+8+n > len(data) {
			return
		}
		body := data[p+8 : p+8+n]
		switch string(data[p : p+4]) {
		case "EXIF":
			tiff = bytes.TrimPrefix(body, exifHeader)
		case "XMP ":
			xmp = body
		}
		p += 8 + n + n&1
	}
	return
}

// exifKeywords reads XPKeywords from TIFF-structured EXIF data.
func exifKeywords(tiff []byte) (kw []string, err error) {
	defer func() {
		// go-exif reports some malformed data by panicking through its
		// own recover; keep any that escapes from killing the ingest.
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed EXIF: %v", r)
		}
	}()
	ti, im := exifIndex()
	var raw []byte
	_, _, err = exif.Visit(exifcommon.IfdStandardIfdIdentity, im, ti, tiff, func(ite *exif.IfdTagEntry) error {
		if ite.TagId() == tagXPKeywords && ite.IfdPath() == exifcommon.IfdStandardIfdIdentity.UnindexedString() && raw == nil {
			b, err := ite.GetRawBytes()
			if err != nil {
				return err
			}
			raw = b
		}
		return nil
	}, nil)
	if raw != nil {
		kw = splitKeywords(decodeUTF16LE(raw), ";")
	}
	return kw, err
}

// decodeUTF16LE decodes NUL-terminated UTF-16LE text.
func decodeUTF16LE(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

func splitKeywords(s, sep string) []string {
	var out []string
	for _, t := range strings.Split(s, sep) {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// xmpSubjects reads the items of dc:subject from an XMP packet.
func xmpSubjects(packet []byte) ([]string, error) {
	const dcNS = "http://purl.org/dc/elements/1.1/"
	const rdfNS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	d := xml.NewDecoder(bytes.NewReader(packet))
	d.Strict = false
	var out []string
	inSubject, inItem := 0, false
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == dcNS && t.Name.Local == "subject" {
				inSubject++
			} else if inSubject > 0 && t.Name.Space == rdfNS && t.Name.Local == "li" {
				inItem = true
				text.Reset()
			}
		case xml.EndElement:
			if t.Name.Space == dcNS && t.Name.Local == "subject" && inSubject > 0 {
				inSubject--
			} else if inItem && t.Name.Space == rdfNS && t.Name.Local == "li" {
				inItem = false
				if s := strings.TrimSpace(text.String()); s != "" && !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		case xml.CharData:
			if inItem {
				text.Write(t)
			}
		}
	}
}

// iptcKeywords reads IPTC IIM 2:25 (Keywords) from the Photoshop image
// resources of an APP13 segment.
func iptcKeywords(ps []byte) ([]string, error) {
	var out []string
	p := 0
	for p+12 <= len(ps) {
		if string(ps[p:p+4]) != "8BIM" {
			return out, fmt.Errorf("image resource at byte %d has no 8BIM signature", p)
		}
		id := binary.BigEndian.Uint16(ps[p+4:])
		nameLen := int(ps[p+6])
		q := p + 6 + 1 + nameLen
		if (1+nameLen)%2 == 1 {
			q++ // the Pascal name is padded to an even length
		}
		if q+4 > len(ps) {
			return out, errors.New("image resource cut short")
		}
		size := int(binary.BigEndian.Uint32(ps[q:]))
		q += 4
		if size < 0 || q+size > len(ps) {
			return out, errors.New("image resource cut short")
		}
		if id == 0x0404 {
			kw, err := iimKeywords(ps[q : q+size])
			out = append(out, kw...)
			if err != nil {
				return out, err
			}
		}
		p = q + size + size&1
	}
	return out, nil
}

// iimKeywords reads the 2:25 datasets of IPTC IIM records; text is UTF-8
// where valid, else Latin-1.
func iimKeywords(b []byte) ([]string, error) {
	var out []string
	p := 0
	for p+5 <= len(b) {
		if b[p] != 0x1c {
			return out, fmt.Errorf("IIM dataset at byte %d has no tag marker", p)
		}
		rec, ds := b[p+1], b[p+2]
		n := int(binary.BigEndian.Uint16(b[p+3:]))
		p += 5
		if n&0x8000 != 0 { // extended length: the next n&0x7fff bytes hold it
			k := n & 0x7fff
			if k > 4 || p+k > len(b) {
				return out, errors.New("IIM extended length out of range")
			}
			n = 0
			for _, c := range b[p : p+k] {
				n = n<<8 | int(c)
			}
			p += k
		}
		if p+n > len(b) {
			return out, errors.New("IIM dataset cut short")
		}
		if rec == 2 && ds == 25 {
			v := b[p : p+n]
			s := string(v)
			if !utf8.Valid(v) {
				r := make([]rune, len(v))
				for i, c := range v {
					r[i] = rune(c)
				}
				s = string(r)
			}
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		p += n
	}
	return out, nil
}
