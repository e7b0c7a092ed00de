package synthetic

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster"
)

// Tag rates of the synthetic metadata, close to what YFCC100M users do:
// most photos carry some tag, but only part of them name what is shown.
const (
	conceptTagRate   = 0.6  // images with a tag of their own concept
	secondTagRate    = 0.3  // of those, a second variant ("beach", "playa")
	wrongTagRate     = 0.03 // a concept tag of another concept: mistakes, jokes
	nonASCIITagRate  = 0.06
	conceptTitleRate = 0.25
	fanRate          = 0.3 // photos of a concept taken by one of its fans
)

// camera is a capture device and the tag its owners add.
type camera struct{ tag, model string }

// cameras are in popularity order (Zipf-drawn).
var cameras = [...]camera{
	{"canon", "Canon EOS 400D Digital"}, {"nikon", "NIKON D80"}, {"canon", "Canon EOS 5D Mark II"},
	{"iphone", "Apple iPhone 4"}, {"nikon", "NIKON D90"}, {"sony", "SONY DSC-W55"},
	{"canon", "Canon PowerShot SD1000"}, {"panasonic", "Panasonic DMC-FZ50"}, {"olympus", "OLYMPUS E-510"},
	{"fujifilm", "FUJIFILM FinePix S5600"}, {"nikon", "NIKON COOLPIX P100"}, {"sony", "SONY NEX-5N"},
	{"pentax", "PENTAX K10D"}, {"samsung", "SAMSUNG GT-I9300"}, {"apple", "Apple iPhone 4S"},
}

// popularTags are unrelated to what is shown, with their rates.
var popularTags = [...]struct {
	tag  string
	rate float64
}{
	{"travel", 0.15}, {"vacation", 0.1}, {"photo", 0.1}, {"nature", 0.08}, {"geotagged", 0.07},
	{"summer", 0.06}, {"friends", 0.05}, {"family", 0.05}, {"holiday", 0.05}, {"me", 0.03},
}

// nonASCIITags are places and words users tag in their own script.
var nonASCIITags = [...]string{"café", "zürich", "köln", "méxico", "россия", "北京", "são paulo", "españa", "québec", "ελλάδα"}

var genericTitles = [...]string{"Untitled", "My holiday", "Day one", "Sunday walk", "Trip", "Weekend", "Best of", "Random"}

var descriptions = [...]string{
	"Taken on a trip with friends.",
	"One of my favourites from that day.",
	"Explore #%d, thank you all!",
	"Shot handheld, no tripod.",
	"Please do not use without permission.",
	"From the archive.",
}

// Meta is the YFCC-style metadata of image i: photographer, date, camera,
// title, sometimes a description, and noisy tags of which about 60% name
// the hidden concept (with synonyms, misspellings and phrases). Out-of-range
// i gives an empty Meta.
func (s *Dataset) Meta(i int) deepercluster.Meta {
	if i < 0 || i >= s.cfg.N {
		return deepercluster.Meta{}
	}
	c := s.concept(i)
	r := s.rngFor(i, streamMeta)
	m := deepercluster.Meta{PhotoID: photoID(i)}

	if r.chance(fanRate) {
		m.User = s.users[s.fans[c][r.n(len(s.fans[c]))]]
	} else {
		m.User = s.users[pickCum(s.userCum, r.f64())]
	}
	year := 2006 + r.n(9)
	if r.chance(0.03) {
		year = 0 // unknown date, as in junk YFCC dates
	} else {
		m.Taken = time.Date(year, time.Month(1+r.n(12)), 1+r.n(28), r.n(24), r.n(60), r.n(60), 0, time.UTC)
	}
	dev := -1
	if r.chance(0.8) {
		dev = pickCum(s.cameraCum, r.f64())
		m.Device = cameras[dev].model
	}

	tags := make([]string, 0, 8)
	if r.chance(conceptTagRate) {
		tags = append(tags, s.conceptTag(c, &r))
		if r.chance(secondTagRate) {
			tags = append(tags, s.conceptTag(c, &r))
		}
	}
	if r.chance(wrongTagRate) {
		tags = append(tags, s.conceptTag(r.n(len(concepts)), &r))
	}
	if dev >= 0 && r.chance(0.25) {
		tags = append(tags, cameras[dev].tag)
	}
	if year >= 2008 && r.chance(0.3) {
		tags = append(tags, strconv.Itoa(year))
	}
	for _, p := range popularTags {
		if r.chance(p.rate) {
			tags = append(tags, p.tag)
		}
	}
	if r.chance(nonASCIITagRate) {
		tags = append(tags, nonASCIITags[r.n(len(nonASCIITags))])
	}
	// YFCC lists a photo's tags sorted and once each.
	slices.Sort(tags)
	m.Tags = slices.Compact(tags)
	if len(m.Tags) == 0 {
		m.Tags = nil
	}

	switch x := r.f(); {
	case x < 0.2:
	case x < 0.4:
		m.Title = fmt.Sprintf("IMG_%04d", r.n(10000))
	case x < 0.5:
		m.Title = fmt.Sprintf("DSC%05d", r.n(100000))
	case x < 0.5+conceptTitleRate:
		m.Title = titleCase(s.conceptTag(c, &r))
		if year > 0 && r.chance(0.4) {
			m.Title += " " + strconv.Itoa(year)
		}
	default:
		m.Title = genericTitles[r.n(len(genericTitles))]
	}
	if r.chance(0.25) {
		d := descriptions[r.n(len(descriptions))]
		if strings.Contains(d, "%d") {
			d = fmt.Sprintf(d, 1+r.n(500))
		}
		if m.Device != "" && r.chance(0.3) {
			d += " Shot with my " + m.Device + "."
		}
		m.Description = d
	}
	return m
}

// conceptTag draws one tag variant of concept c by its weight.
func (s *Dataset) conceptTag(c int, r *rng) string {
	v := s.vocab[c]
	u := r.f64()
	for _, t := range v {
		if u < t.w {
			return t.tag
		}
		u -= t.w
	}
	return v[0].tag
}

// ConceptOfTag says which concept a tag names, if any: the ground truth
// for measuring how well clusters agree with hashtags.
func (s *Dataset) ConceptOfTag(tag string) (int, bool) {
	c, ok := s.tagConcept[tag]
	return c, ok
}

// titleCase upper-cases the first letter of every word.
func titleCase(s string) string {
	words := strings.Fields(s)
	for k, w := range words {
		rs := []rune(w)
		rs[0] = []rune(strings.ToUpper(string(rs[0])))[0]
		words[k] = string(rs)
	}
	return strings.Join(words, " ")
}
