package server

import (
	"sync"
	"sync/atomic"
)

// Hub fans encoded frames out to websocket clients. Publishers never wait:
// each client has a bounded queue, and a client whose queue overflows is
// marked stale, its queue is dropped, and its writer starts over from the
// hub's current snapshot once it catches up. A frame is encoded once and
// the same bytes go to every client.
//
// The hub also keeps what a new (or resynchronising) client must receive
// first: the latest snapshot (or run-info frame before the first
// Assignment), the run's history, the latest 2D layout, the latest progress
// and the latest metrics frame. The base
// and the broadcast of a delta change under one lock, so a client never
// misses a delta nor gets one that its snapshot already holds.
type Hub struct {
	maxFrames int
	maxBytes  int

	mu       sync.Mutex
	clients  map[*hubClient]struct{}
	base     []byte // snapshot or run-info frame
	progress []byte
	metrics  []byte
	history  []byte
	layout   []byte // the latest Layout frame, as refined so far

	dropped atomic.Int64 // frames dropped for slow clients
	resyncs atomic.Int64 // snapshots re-sent after a drop or a request
}

// NewHub makes a hub whose clients queue at most maxFrames frames or
// maxBytes bytes before they are considered stale.
func NewHub(maxFrames, maxBytes int) *Hub {
	if maxFrames < 1 {
		maxFrames = 1
	}
	return &Hub{maxFrames: maxFrames, maxBytes: maxBytes, clients: map[*hubClient]struct{}{}}
}

// hubClient is one subscriber's queue.
type hubClient struct {
	mu     sync.Mutex
	queue  [][]byte
	bytes  int
	stale  bool // queue overflowed or the client asked: resend the base
	notify chan struct{}
}

func (c *hubClient) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// push queues b, or marks the client stale when it is full. It never blocks.
func (h *Hub) push(c *hubClient, b []byte) (dropped bool) {
	c.mu.Lock()
	if c.stale {
		c.mu.Unlock()
		return true
	}
	if len(c.queue) >= h.maxFrames || (h.maxBytes > 0 && c.bytes+len(b) > h.maxBytes && len(c.queue) > 0) {
		c.queue, c.bytes, c.stale = nil, 0, true
		c.mu.Unlock()
		c.signal()
		return true
	}
	c.queue = append(c.queue, b)
	c.bytes += len(b)
	c.mu.Unlock()
	c.signal()
	return false
}

// subscribe registers a client and queues its start frames atomically with
// respect to publishing.
func (h *Hub) subscribe() *hubClient {
	c := &hubClient{notify: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	c.queue = h.startFramesLocked()
	for _, b := range c.queue {
		c.bytes += len(b)
	}
	c.signal()
	return c
}

func (h *Hub) unsubscribe(c *hubClient) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

func (h *Hub) startFramesLocked() [][]byte {
	var out [][]byte
	for _, b := range [][]byte{h.base, h.history, h.layout, h.progress, h.metrics} {
		if b != nil {
			out = append(out, b)
		}
	}
	return out
}

// requestResync makes the client's writer start over from the base.
func (h *Hub) requestResync(c *hubClient) {
	c.mu.Lock()
	c.queue, c.bytes, c.stale = nil, 0, true
	c.mu.Unlock()
	c.signal()
}

// next returns the frames the client's writer should send now. For a stale
// client that is a fresh copy of the start frames, taken under the hub's
// lock so it lines up with the deltas published after it.
func (h *Hub) next(c *hubClient) (frames [][]byte, resync bool) {
	c.mu.Lock()
	stale := c.stale
	if !stale {
		frames, c.queue, c.bytes = c.queue, nil, 0
		c.mu.Unlock()
		return frames, false
	}
	c.mu.Unlock()
	h.mu.Lock()
	c.mu.Lock()
	c.queue, c.bytes, c.stale = nil, 0, false
	frames = h.startFramesLocked()
	c.mu.Unlock()
	h.mu.Unlock()
	h.resyncs.Add(1)
	return frames, true
}

func (h *Hub) broadcastLocked(b []byte) {
	for c := range h.clients {
		if h.push(c, b) {
			h.dropped.Add(1)
		}
	}
}

// PublishBase replaces the base (a snapshot or run-info frame) and sends
// update to every client: a delta from the previous base, or the new base
// itself when update is nil.
func (h *Hub) PublishBase(base, update []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.base = base
	if update == nil {
		update = base
	}
	h.broadcastLocked(update)
}

// SetBase replaces the base without telling clients (the new base holds
// nothing they have not been sent, e.g. summaries sent as their own frame).
func (h *Hub) SetBase(base []byte) {
	h.mu.Lock()
	h.base = base
	h.mu.Unlock()
}

// SetHistory replaces the history frame that new (or resynchronising)
// clients get after the base. Clients already connected follow the live
// frames instead, except for the first history: a client that connected
// before there was any (the server's loop had not started yet) gets it
// too, or its charts would miss everything before it connected.
func (h *Hub) SetHistory(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	first := h.history == nil
	h.history = b
	if first && b != nil {
		h.broadcastLocked(b)
	}
}

// PublishProgress sends a progress frame and keeps it for new clients.
func (h *Hub) PublishProgress(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.progress = b
	h.broadcastLocked(b)
}

// PublishMetrics sends a metrics frame and keeps it for new clients.
func (h *Hub) PublishMetrics(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.metrics = b
	h.broadcastLocked(b)
}

// PublishLayout replaces the layout that new clients get after the base and
// the history (a whole Layout frame, refinements included) and sends update
// to every client: a LayoutDelta frame from the layout they hold, or the new
// layout itself when update is nil. Like PublishBase it changes both under
// one lock, so a client never gets a delta its layout already holds.
func (h *Hub) PublishLayout(layout, update []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.layout = layout
	if update == nil {
		update = layout
	}
	h.broadcastLocked(update)
}

// Publish sends a frame that new clients do not need (e.g. summaries that
// the base already holds).
func (h *Hub) Publish(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.broadcastLocked(b)
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Dropped is the number of frames dropped for slow clients so far.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Resyncs is the number of snapshots re-sent to clients so far.
func (h *Hub) Resyncs() int64 { return h.resyncs.Load() }
