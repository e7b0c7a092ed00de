package device

// Graphs is the optional interface of a device that can record a
// sequence of launches once and replay it with one call: on CUDA a CUDA
// graph (stream capture), which removes the per-kernel launch cost that
// dominates a small network's training step; on OpenCL a recorded list of
// launches replayed in order, so that the backend's graph path is the same
// code, tested on PoCL in CI.
//
// Between BeginCapture and EndCapture only Launch may be called: launches
// are recorded, not run, with their scalar arguments as they are now and
// their buffers by reference (a replay reads the buffers' contents at the
// time it runs). Copies, Alloc, Finish and Close return an error while
// capturing; Free is deferred until EndCapture.
type Graphs interface {
	// BeginCapture starts recording launches.
	BeginCapture() error
	// EndCapture stops recording and returns the recorded graph, ready
	// to launch. After an error the device is out of capture mode.
	EndCapture() (Graph, error)
}

// Graph is a recorded sequence of launches.
type Graph interface {
	// Launch queues the whole sequence on the device's queue, in order
	// with other work; Finish waits for it like for any launch.
	Launch() error
	// Close releases the graph; a second Close does nothing.
	Close() error
}
