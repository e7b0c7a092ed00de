package synthetic

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/rotate"
)

func mustSynthetic(t testing.TB, cfg Config) *Dataset {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSyntheticConfigValidation(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantField string // "" means valid
	}{
		{"default", DefaultConfig(), ""},
		{"smallest", Config{Seed: -5, N: 1, Resolution: 16}, ""},
		{"largest", Config{N: 1_000_000, Resolution: 64}, ""},
		{"zero images", Config{N: 0, Resolution: 32}, "N"},
		{"negative images", Config{N: -3, Resolution: 32}, "N"},
		{"too many images", Config{N: 1_000_001, Resolution: 32}, "N"},
		{"resolution too small", Config{N: 10, Resolution: 15}, "Resolution"},
		{"resolution too large", Config{N: 10, Resolution: 65}, "Resolution"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if tc.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.Len() != tc.cfg.N || s.Resolution() != tc.cfg.Resolution {
					t.Fatalf("Len %d Resolution %d, want %d %d", s.Len(), s.Resolution(), tc.cfg.N, tc.cfg.Resolution)
				}
				return
			}
			var fe *deepercluster.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.wantField {
				t.Fatalf("error %v, want a FieldError on %s", err, tc.wantField)
			}
			if !strings.Contains(err.Error(), tc.wantField) {
				t.Errorf("error %q does not name the field %s", err, tc.wantField)
			}
		})
	}
	if d := DefaultConfig(); d != (Config{Seed: 1, N: 20000, Resolution: 32}) {
		t.Errorf("default config %+v", d)
	}
}

func TestSyntheticImageErrors(t *testing.T) {
	s := mustSynthetic(t, Config{Seed: 1, N: 10, Resolution: 16})
	tests := []struct {
		name string
		i    int
		dst  []byte
		want string
	}{
		{"negative index", -1, make([]byte, 16*16*3), "image -1 outside [0,10)"},
		{"index past end", 10, make([]byte, 16*16*3), "image 10 outside [0,10)"},
		{"short destination", 3, make([]byte, 100), "holds 100 bytes, need 768"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Image(tc.i, tc.dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, ok := s.Label(10); ok {
		t.Error("Label(10) of 10 reported present")
	}
	if m := s.Meta(10); !reflect.DeepEqual(m, deepercluster.Meta{}) {
		t.Errorf("Meta(10) of 10 = %+v, want empty", m)
	}
}

// renderAll renders the images idx of s.
func renderAll(t testing.TB, s *Dataset, idx []int) [][]byte {
	t.Helper()
	out := make([][]byte, len(idx))
	for k, i := range idx {
		out[k] = make([]byte, deepercluster.ImageBytes(s.Resolution()))
		if err := s.Image(i, out[k]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestSyntheticDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, N: 5000, Resolution: 32}
	a, b := mustSynthetic(t, cfg), mustSynthetic(t, cfg)
	cfg.Seed = 43
	other := mustSynthetic(t, cfg)
	idx := []int{0, 1, 2, 17, 999, 4999}
	rev := []int{4999, 999, 17, 2, 1, 0}
	ia, ib, io := renderAll(t, a, idx), renderAll(t, b, rev), renderAll(t, other, idx)
	sameImg, sameMeta, sameLabel := 0, 0, 0
	for k, i := range idx {
		if !bytes.Equal(ia[k], ib[len(idx)-1-k]) {
			t.Errorf("image %d differs between two datasets with the same seed (or depends on call order)", i)
		}
		if !reflect.DeepEqual(a.Meta(i), b.Meta(i)) {
			t.Errorf("meta %d differs between two datasets with the same seed", i)
		}
		la, _ := a.Label(i)
		if lb, _ := b.Label(i); la != lb {
			t.Errorf("label %d differs: %d vs %d", i, la, lb)
		}
		if bytes.Equal(ia[k], io[k]) {
			sameImg++
		}
		if reflect.DeepEqual(a.Meta(i), other.Meta(i)) {
			sameMeta++
		}
		if lo, _ := other.Label(i); la == lo {
			sameLabel++
		}
	}
	if sameImg > 0 || sameMeta > 0 {
		t.Errorf("seed 43 repeats seed 42: %d identical images, %d identical metas of %d", sameImg, sameMeta, len(idx))
	}
	if sameLabel == len(idx) {
		t.Errorf("seed 43 gives the same labels as seed 42 at all %d indices", len(idx))
	}
	// Neighbouring images are different pictures.
	if bytes.Equal(ia[1], ia[2]) {
		t.Error("images 1 and 2 are identical")
	}
	// Labels do not depend on the resolution, only on (seed, index).
	small := mustSynthetic(t, Config{Seed: 42, N: 5000, Resolution: 16})
	for i := 0; i < 200; i++ {
		l1, _ := a.Label(i)
		if l2, _ := small.Label(i); l1 != l2 {
			t.Fatalf("label %d is %d at 32 px and %d at 16 px", i, l1, l2)
		}
	}
}

func TestSyntheticConcurrent(t *testing.T) {
	s := mustSynthetic(t, Config{Seed: 7, N: 400, Resolution: 24})
	idx := make([]int, s.Len())
	for i := range idx {
		idx[i] = i
	}
	want := renderAll(t, s, idx)
	wantMeta := make([]deepercluster.Meta, s.Len())
	for i := range wantMeta {
		wantMeta[i] = s.Meta(i)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			buf := make([]byte, deepercluster.ImageBytes(s.Resolution()))
			for k := 0; k < s.Len(); k++ {
				i := (k*7 + g*53) % s.Len()
				if err := s.Image(i, buf); err != nil {
					errs <- err.Error()
					return
				}
				if !bytes.Equal(buf, want[i]) {
					errs <- "image differs when read concurrently"
					return
				}
				if !reflect.DeepEqual(s.Meta(i), wantMeta[i]) {
					errs <- "meta differs when read concurrently"
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestSyntheticLongTail(t *testing.T) {
	s := mustSynthetic(t, Config{Seed: 1, N: 20000, Resolution: 16})
	counts := make([]int, s.NumLabels())
	for i := 0; i < s.Len(); i++ {
		l, ok := s.Label(i)
		if !ok || l < 0 || l >= s.NumLabels() {
			t.Fatalf("label %d = %d, %v", i, l, ok)
		}
		counts[l]++
	}
	minC, maxC, present := math.MaxInt, 0, 0
	for _, c := range counts {
		minC, maxC = min(minC, c), max(maxC, c)
		if c > 0 {
			present++
		}
	}
	t.Logf("concept counts over 20000 images: %v", counts)
	if present < 30 || len(s.Concepts()) != s.NumLabels() {
		t.Fatalf("%d concepts present (%d named), want at least 30", present, len(s.Concepts()))
	}
	if minC == 0 || float64(maxC)/float64(minC) < 30 {
		t.Fatalf("largest concept %d, smallest %d: ratio below 30", maxC, minC)
	}
	// Long-tailed, not two-valued: the top 5 concepts hold between a third
	// and two thirds of the images.
	sorted := append([]int(nil), counts...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] > sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	top5 := sorted[0] + sorted[1] + sorted[2] + sorted[3] + sorted[4]
	if f := float64(top5) / float64(s.Len()); f < 0.33 || f > 0.67 {
		t.Errorf("top 5 concepts hold %.2f of the images, want [0.33, 0.67]", f)
	}
	names := map[string]bool{}
	for _, n := range s.Concepts() {
		if n == "" || names[n] {
			t.Errorf("concept name %q empty or repeated", n)
		}
		names[n] = true
	}
}

// nmi is the normalised mutual information (arithmetic mean) of two labelings.
func nmi(a, b []int) float64 {
	n := float64(len(a))
	joint := map[[2]int]float64{}
	pa, pb := map[int]float64{}, map[int]float64{}
	for i := range a {
		joint[[2]int{a[i], b[i]}]++
		pa[a[i]]++
		pb[b[i]]++
	}
	h := func(p map[int]float64) float64 {
		e := 0.0
		for _, c := range p {
			e -= c / n * math.Log(c/n)
		}
		return e
	}
	mi := 0.0
	for k, c := range joint {
		mi += c / n * math.Log(c*n/(pa[k[0]]*pb[k[1]]))
	}
	ha, hb := h(pa), h(pb)
	if ha+hb == 0 {
		return 1
	}
	return 2 * mi / (ha + hb)
}

func TestSyntheticTags(t *testing.T) {
	s := mustSynthetic(t, Config{Seed: 3, N: 20000, Resolution: 16})
	var (
		ownTagged, vocabTagged, correct int
		labels, predicted               []int
		nonASCII, multiWord, years      int
		tagImages                       = map[string]map[int]int{} // tag -> label -> images
		users                           = map[string]int{}
		titled, described, devices      int
		zeroTaken                       int
	)
	for i := 0; i < s.Len(); i++ {
		l, _ := s.Label(i)
		m := s.Meta(i)
		if m.PhotoID == "" || m.User == "" {
			t.Fatalf("meta %d lacks photo id or user: %+v", i, m)
		}
		users[m.User]++
		if m.Title != "" {
			titled++
		}
		if m.Description != "" {
			described++
		}
		if m.Device != "" {
			devices++
		}
		if m.Taken.IsZero() {
			zeroTaken++
		}
		own, pred := false, -1
		for _, tag := range m.Tags {
			if !utf8.ValidString(tag) || tag == "" || strings.Contains(tag, ",") {
				t.Fatalf("meta %d: bad tag %q", i, tag)
			}
			if tagImages[tag] == nil {
				tagImages[tag] = map[int]int{}
			}
			tagImages[tag][l]++
			if c, ok := s.ConceptOfTag(tag); ok {
				own = own || c == l
				if pred < 0 {
					pred = c
				}
			}
			for _, r := range tag {
				if r > 127 {
					nonASCII++
					break
				}
			}
			if strings.Contains(tag, " ") {
				multiWord++
			}
			if len(tag) == 4 && tag >= "2008" && tag <= "2014" {
				years++
			}
		}
		if own {
			ownTagged++
		}
		if pred >= 0 {
			vocabTagged++
			labels = append(labels, l)
			predicted = append(predicted, pred)
			if pred == l {
				correct++
			}
		}
	}
	n := float64(s.Len())
	share := float64(ownTagged) / n
	acc := float64(correct) / float64(vocabTagged)
	score := nmi(labels, predicted)
	t.Logf("own concept tag on %.3f of images; concept predicted from the first concept tag: accuracy %.3f, NMI %.3f on %d images", share, acc, score, vocabTagged)
	if share < 0.5 || share > 0.7 {
		t.Errorf("share of images tagged with their concept %.3f outside [0.5, 0.7]", share)
	}
	if acc < 0.9 || score < 0.85 {
		t.Errorf("tags predict the concept with accuracy %.3f (want >= 0.9) and NMI %.3f (want >= 0.85)", acc, score)
	}
	if acc > 0.995 {
		t.Errorf("accuracy %.3f: tags carry no noise at all", acc)
	}
	// Purity of the concept among images carrying a tag: high for concept
	// tags, near the prior for popular unrelated ones.
	purity := func(tag string) (float64, int) {
		total, best := 0, 0
		for _, c := range tagImages[tag] {
			total += c
			best = max(best, c)
		}
		if total == 0 {
			return 0, 0
		}
		return float64(best) / float64(total), total
	}
	for _, tag := range []string{"city", "beach", "sunset", "new york", "dessert", "東京"} {
		if p, k := purity(tag); k < 20 || p < 0.85 {
			t.Errorf("concept tag %q on %d images with purity %.2f, want >= 20 images and >= 0.85", tag, k, p)
		}
	}
	for _, tag := range []string{"canon", "nikon", "travel", "2010", "photo"} {
		if p, k := purity(tag); k < 200 || p > 0.4 {
			t.Errorf("unrelated tag %q on %d images with purity %.2f, want >= 200 images and <= 0.4", tag, k, p)
		}
	}
	if nonASCII < 200 || multiWord < 500 || years < 1000 {
		t.Errorf("tags with non-ASCII %d, multi-word %d, year %d: want at least 200, 500, 1000", nonASCII, multiWord, years)
	}
	// A few hundred photographers, long-tailed.
	top := 0
	for _, c := range users {
		top = max(top, c)
	}
	if len(users) < 150 || len(users) > 300 || float64(top)/n < 0.03 {
		t.Errorf("%d users, the busiest with %d photos: want 150-300 users and a long tail", len(users), top)
	}
	for _, f := range []struct {
		what   string
		k      int
		lo, hi float64
	}{{"titled", titled, 0.7, 0.9}, {"described", described, 0.15, 0.35}, {"with a device", devices, 0.7, 0.9}, {"with no date", zeroTaken, 0.01, 0.06}} {
		if r := float64(f.k) / n; r < f.lo || r > f.hi {
			t.Errorf("share of images %s %.3f outside [%.2f, %.2f]", f.what, r, f.lo, f.hi)
		}
	}
}

// rowMeans gives the mean brightness of the top and bottom quarter rows.
func rowMeans(img []byte, res int) (top, bottom float64) {
	q := res / 4
	for y := 0; y < q; y++ {
		for x := 0; x < res*3; x++ {
			top += float64(img[y*res*3+x])
			bottom += float64(img[(res-1-y)*res*3+x])
		}
	}
	d := float64(q * res * 3)
	return top / d, bottom / d
}

func TestSyntheticCanonicalUp(t *testing.T) {
	const res, n = 32, 2000
	s := mustSynthetic(t, Config{Seed: 5, N: n, Resolution: res})
	img := make([]byte, res*res*3)
	rot := make([]byte, res*res*3)
	var diff, diffRot, diffSide float64
	upright := 0
	for i := 0; i < n; i++ {
		if err := s.Image(i, img); err != nil {
			t.Fatal(err)
		}
		top, bottom := rowMeans(img, res)
		diff += top - bottom
		if top > bottom {
			upright++
		}
		rotate.Image(rot, img, res, 2)
		top, bottom = rowMeans(rot, res)
		diffRot += top - bottom
		rotate.Image(rot, img, res, 1)
		top, bottom = rowMeans(rot, res)
		diffSide += top - bottom
	}
	diff, diffRot, diffSide = diff/n, diffRot/n, diffSide/n
	t.Logf("top minus bottom brightness: upright %.1f, upside down %.1f, on its side %.1f; top brighter in %.2f of images", diff, diffRot, diffSide, float64(upright)/n)
	if diff < 30 || diffRot > -30 || math.Abs(diffSide) > 10 {
		t.Errorf("no canonical up: top-bottom brightness %.1f upright (want >= 30), %.1f upside down (want <= -30), %.1f on its side (want |.| <= 10)", diff, diffRot, diffSide)
	}
	if f := float64(upright) / n; f < 0.75 {
		t.Errorf("top brighter than bottom in only %.2f of images, want >= 0.75", f)
	}
}
