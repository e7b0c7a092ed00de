package device

import "testing"

// benchLaunch measures the host cost of one small launch (queued, with
// a Finish every 256), the figure that decides whether a training step
// is launch-bound; and the same ten launches replayed as one graph.
func benchLaunch(b *testing.B, d Device) {
	const n = 1024
	buf, err := d.Alloc(4 * n)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Free(buf)
	launch := func() error {
		return d.Launch("selftest_fill", Dim{n / 256}, Dim{256}, buf, int32(0), int32(n), float32(1))
	}
	if err := launch(); err != nil { // builds/loads the kernel
		b.Fatal(err)
	}
	if err := d.Finish(); err != nil {
		b.Fatal(err)
	}
	b.Run("launch", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := launch(); err != nil {
				b.Fatal(err)
			}
			if i%256 == 255 {
				if err := d.Finish(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := d.Finish(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("graph10", func(b *testing.B) {
		gd := d.(Graphs)
		if err := gd.BeginCapture(); err != nil {
			b.Fatal(err)
		}
		for range 10 {
			if err := launch(); err != nil {
				b.Fatal(err)
			}
		}
		g, err := gd.EndCapture()
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		for i := 0; b.Loop(); i++ {
			if err := g.Launch(); err != nil {
				b.Fatal(err)
			}
			if i%32 == 31 {
				if err := d.Finish(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := d.Finish(); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkOpenCLLaunch(b *testing.B) {
	d, err := OpenOpenCL()
	if err != nil {
		b.Fatalf("OpenCL is required: %v", err)
	}
	defer d.Close()
	benchLaunch(b, d)
}

func BenchmarkCUDALaunch(b *testing.B) {
	d, err := OpenCUDA()
	if err != nil {
		b.Skipf("no NVIDIA GPU here: %v", err)
	}
	defer d.Close()
	benchLaunch(b, d)
}
