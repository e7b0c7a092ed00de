// Command photos writes a folder of generated 640x480 JPEG "photos"
// (synthetic.ScenePhoto: sunsets, forests, cities at night, mountains,
// beaches, flowers) in one subfolder per scene, with a CSV table beside
// them, to try folder ingest and the explorer as a new user would:
//
//	go run ./bench/photos -n 300 -out /tmp/photos
//	deepercluster serve --dataset /tmp/photos/images
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image/jpeg"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

func main() {
	n := flag.Int("n", 300, "number of photos")
	out := flag.String("out", "photos", "output folder: images/ and meta.csv go in it")
	w := flag.Int("w", 640, "width")
	h := flag.Int("h", 480, "height")
	flag.Parse()
	var csv strings.Builder
	csv.WriteString("file,tags,title,label\n")
	for i := range *n {
		kind := i % len(synthetic.SceneKinds)
		name := synthetic.SceneKinds[kind]
		rel := fmt.Sprintf("%s/%s_%04d.jpg", name, name, i)
		p := filepath.Join(*out, "images", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, synthetic.ScenePhoto(kind, uint64(i), *w, *h), &jpeg.Options{Quality: 88}); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(&csv, "%s,\"generated,%s\",%s number %d,%s\n", rel, name, name, i, name)
	}
	if err := os.WriteFile(filepath.Join(*out, "meta.csv"), []byte(csv.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d photos in %s, table %s\n", *n, filepath.Join(*out, "images"), filepath.Join(*out, "meta.csv"))
}
