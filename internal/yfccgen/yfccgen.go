// Package yfccgen writes a small YFCC100M-style input for tests and
// benchmarks of the ingests: a 23-column metadata file with bad lines
// among the good ones, an autotags file, and a flat folder of JPEG photos
// in which some photos are missing and one is corrupt.
package yfccgen

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
)

// Config sizes the generated input.
type Config struct {
	// Lines is the number of metadata lines written.
	Lines int
	// Width and Height are the photos' size (they are cropped and resized
	// by the ingest).
	Width, Height int
	// Seed makes the input reproducible.
	Seed uint64
}

// Input names the files written.
type Input struct {
	YFCC, AutoTags, Images string
	// Bad, Missing and Corrupt are how many metadata lines do not parse,
	// how many good lines have no photo file, and how many have a file
	// that does not decode (Corrupt photos are counted in Missing too, as
	// the ingests count them).
	Bad, Missing, Corrupt int
}

var words = []string{"sky", "sea", "dog", "cat", "tree", "city", "night", "snow", "car", "bird", "lake", "music"}

// Write generates the input under dir. Every 17th line is bad (wrong
// field count or a bad photo id), every 13th good line has no photo,
// one photo is corrupt, and every third line has a blank line after it.
func Write(dir string, cfg Config) (Input, error) {
	in := Input{YFCC: filepath.Join(dir, "yfcc.tsv"), AutoTags: filepath.Join(dir, "autotags.tsv"), Images: filepath.Join(dir, "images")}
	if err := os.MkdirAll(in.Images, 0o755); err != nil {
		return in, fmt.Errorf("yfccgen: %w", err)
	}
	mf, err := os.Create(in.YFCC)
	if err != nil {
		return in, fmt.Errorf("yfccgen: %w", err)
	}
	defer mf.Close()
	af, err := os.Create(in.AutoTags)
	if err != nil {
		return in, fmt.Errorf("yfccgen: %w", err)
	}
	defer af.Close()
	mw, aw := bufio.NewWriter(mf), bufio.NewWriter(af)
	r := rand.New(rand.NewPCG(cfg.Seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	corruptDone := false
	good := 0
	for i := range cfg.Lines {
		id := 5000000 + 3*i
		if i%17 == 5 {
			in.Bad++
			if i%2 == 0 {
				fmt.Fprintf(mw, "%d\tonly\tthree fields\n", id)
			} else {
				fmt.Fprintf(mw, "x%d%s\n", id, tabs(22))
			}
			continue
		}
		good++
		tags := ""
		for k := range 1 + r.IntN(4) {
			if k > 0 {
				tags += ","
			}
			tags += url.QueryEscape(words[r.IntN(len(words))] + " " + words[r.IntN(len(words))])
		}
		fmt.Fprintf(mw, "%d\t%d@N01\tuser+%d\t2010-0%d-1%d 10:20:30.0\t1300000000\tCanon\t%s\t\t%s\t\t\t\t\thttp://www.flickr.com/photos/u/%d/\thttp://farm1.staticflickr.com/1/%d_ab.jpg\tAttribution\thttp://creativecommons.org/licenses/by/2.0/\t1\t1\tab\tcd\tjpg\t0\n",
			id, r.IntN(100), i%7, 1+i%9, i%10, url.QueryEscape("photo "+words[i%len(words)]), tags, id, id)
		if i%3 == 0 {
			mw.WriteString("\n")
		}
		if i%5 == 0 {
			fmt.Fprintf(aw, "%d\t%s:0.9%d,%s:0.1\n", id, words[i%len(words)], i%10, words[(i+1)%len(words)])
		} else if i%11 == 0 {
			fmt.Fprintf(aw, "%d\tnot a prob\n", id)
		}
		path := filepath.Join(in.Images, fmt.Sprintf("%d.jpg", id))
		switch {
		case good%13 == 0:
			in.Missing++
			continue
		case !corruptDone && good > 20:
			corruptDone = true
			in.Missing++
			in.Corrupt++
			if err := os.WriteFile(path, []byte("not a jpeg"), 0o644); err != nil {
				return in, fmt.Errorf("yfccgen: %w", err)
			}
			continue
		}
		paint(img, r)
		f, err := os.Create(path)
		if err != nil {
			return in, fmt.Errorf("yfccgen: %w", err)
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
			f.Close()
			return in, fmt.Errorf("yfccgen: encode %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return in, fmt.Errorf("yfccgen: %w", err)
		}
	}
	if err := mw.Flush(); err != nil {
		return in, fmt.Errorf("yfccgen: %w", err)
	}
	if err := aw.Flush(); err != nil {
		return in, fmt.Errorf("yfccgen: %w", err)
	}
	return in, nil
}

func tabs(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '\t'
	}
	return string(b)
}

// paint draws a random two-colour gradient with a square in it.
func paint(img *image.RGBA, r *rand.Rand) {
	b := img.Bounds()
	c1 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	c2 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	sx, sy := r.IntN(b.Dx()/2+1), r.IntN(b.Dy()/2+1)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			t := float64(x+y) / float64(b.Dx()+b.Dy())
			c := color.RGBA{lerp(c1.R, c2.R, t), lerp(c1.G, c2.G, t), lerp(c1.B, c2.B, t), 255}
			if x >= sx && x < sx+b.Dx()/3 && y >= sy && y < sy+b.Dy()/3 {
				c = color.RGBA{255 - c.R, 255 - c.G, 255 - c.B, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
}

func lerp(a, b uint8, t float64) uint8 { return uint8(float64(a)*(1-t) + float64(b)*t) }
