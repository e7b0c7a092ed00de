package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/deepercluster/deepercluster/e2e"
)

func main() {
	url, out := os.Args[1], os.Args[2]
	ctx, cancel, err := e2e.NewBrowser(context.Background(), os.TempDir()+"/dcshot", 1400, 900)
	if err != nil {
		panic(err)
	}
	defer cancel()
	ctx, c2 := context.WithTimeout(ctx, 90*time.Second)
	defer c2()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		panic(err)
	}
	time.Sleep(6 * time.Second)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		panic(err)
	}
	os.WriteFile(out+"-map.png", png, 0o644)
	// Click the middle of the map canvas to select the sub-cluster there.
	js := `(() => { const c = document.querySelector('canvas'); const r = c.getBoundingClientRect(); return [r.left + r.width*0.3, r.top + r.height*0.3]; })()`
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js))
	if err != nil {
		panic(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
		panic(err)
	}
	time.Sleep(3 * time.Second)
	imgs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.images).slice(0,5).map(i => i.src + ' ' + i.naturalWidth + 'x' + i.naturalHeight + ' shown ' + i.width + 'x' + i.height)`))
	fmt.Println(imgs)
	png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		panic(err)
	}
	os.WriteFile(out+"-detail.png", png, 0o644)
}
