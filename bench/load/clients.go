package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
)

// The websocket clients run in a process of their own, as browsers run on
// machines of their own. In the measuring process, 200 clients' readers
// would queue the goroutine that times a search behind their reads of
// every broadcast frame, and the bench would time itself. The process is
// this binary again (the test binary in tests, see TestMain), started with
// clientsEnv set to "URL N"; it talks over its stdin and stdout: a status
// line (JSON) once every client is connected, one for each "status" line it
// reads, and a last one after "stop", when it closes its clients and exits.
const clientsEnv = "LOADBENCH_WS_CLIENTS"

// clientStatus is what the clients' process says about its clients.
type clientStatus struct {
	Clients   int            `json:"clients"`
	Versions  map[uint32]int `json:"versions"` // clients per Assignment version held
	Frames    int64          `json:"frames"`   // all clients together
	Snapshots int64          `json:"snapshots"`
	Deltas    int64          `json:"deltas"`
	Errors    int            `json:"errors"`
	Samples   []string       `json:"samples,omitempty"`
}

// onVersion is the number of clients holding version v.
func (s clientStatus) onVersion(v uint32) int { return s.Versions[v] }

// clientsMain is the clients' process: spec is clientsEnv's value. It
// returns the exit status.
func clientsMain(spec string, in io.Reader, out io.Writer) int {
	url, ns, ok := strings.Cut(spec, " ")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "loadbench clients: %s=%q: want \"URL N\"\n", clientsEnv, spec)
		return 2
	}
	if err := runClients(url, n, in, out); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench clients:", err)
		return 1
	}
	return 0
}

// runClients connects n clients to the websocket at url and answers
// status requests until "stop" or the end of in.
func runClients(url string, n int, in io.Reader, out io.Writer) error {
	var e errs
	clients := make([]*wsClient, n)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range clients {
		conn, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			return fmt.Errorf("client %d: dial %s: %w", i, url, err)
		}
		clients[i] = &wsClient{conn: conn}
		wg.Add(1)
		go func(c *wsClient) {
			defer wg.Done()
			c.run(stop, &e)
		}(clients[i])
	}
	enc := json.NewEncoder(out)
	status := func() clientStatus {
		s := clientStatus{Clients: n, Versions: map[uint32]int{}}
		for _, c := range clients {
			s.Versions[c.version.Load()]++
			s.Frames += c.frames.Load()
			s.Snapshots += c.snapshots.Load()
			s.Deltas += c.deltas.Load()
		}
		e.mu.Lock()
		s.Errors, s.Samples = e.n, slices.Clone(e.samples)
		e.mu.Unlock()
		return s
	}
	if err := enc.Encode(status()); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "stop" {
			break
		}
		if err := enc.Encode(status()); err != nil {
			return err
		}
	}
	close(stop)
	for _, c := range clients {
		c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.conn.Close()
	}
	wg.Wait()
	return enc.Encode(status())
}

// clientsProc is the measuring process's handle on the clients' process.
type clientsProc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	dec     *json.Decoder
	mu      sync.Mutex
	last    clientStatus
	stopped bool  // stop ran: the process has exited
	stopErr error // what stop said
}

// startClients starts the clients' process and waits until its n clients
// are connected.
func startClients(url string, n int) (*clientsProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("websocket clients: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), clientsEnv+"="+url+" "+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("websocket clients: start %s: %w", exe, err)
	}
	p := &clientsProc{cmd: cmd, in: in, dec: json.NewDecoder(out)}
	if err := p.dec.Decode(&p.last); err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("websocket clients: no connected clients: %v (process: %v)", err, cmd.Wait())
	}
	return p, nil
}

// status asks the clients' process where its clients are.
func (p *clientsProc) status() (clientStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := fmt.Fprintln(p.in, "status"); err != nil {
		return p.last, fmt.Errorf("websocket clients: %w", err)
	}
	var s clientStatus
	if err := p.dec.Decode(&s); err != nil {
		return p.last, fmt.Errorf("websocket clients: %w", err)
	}
	p.last = s
	return s, nil
}

// stop closes the clients and gives their last status; calls after the
// first give the same status.
func (p *clientsProc) stop() (clientStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return p.last, p.stopErr
	}
	p.stopped = true
	fmt.Fprintln(p.in, "stop")
	var s clientStatus
	err := p.dec.Decode(&s)
	p.in.Close()
	if werr := p.cmd.Wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		p.stopErr = fmt.Errorf("websocket clients: %w", err)
		return p.last, p.stopErr
	}
	p.last = s
	return s, nil
}

// wsClient keeps the Assignment as the browser does. The map's frames
// (a layout, its deltas, its progress) are counted but not decoded: the
// run checks Assignments, and decoding 200 copies of every 400 KB map
// frame on the measured machine would load it with the clients' work,
// which browsers do on their own machines.
type wsClient struct {
	conn                      *websocket.Conn
	a                         *deepercluster.Assignment
	version                   atomic.Uint32
	frames, snapshots, deltas atomic.Int64
}

func (c *wsClient) run(stop <-chan struct{}, e *errs) {
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			select {
			case <-stop:
			default:
				e.add("websocket client dropped: %v", err)
			}
			return
		}
		c.frames.Add(1)
		if isMapFrame(msg) {
			continue
		}
		f, err := wire.DecodeFrame(msg)
		if err != nil {
			e.add("decode frame: %v", err)
			continue
		}
		switch f.Kind {
		case wire.KindSnapshot:
			c.snapshots.Add(1)
			c.a = f.Assignment
			c.version.Store(c.a.Version)
		case wire.KindDelta:
			c.deltas.Add(1)
			if c.a == nil {
				e.add("delta before any snapshot")
				continue
			}
			if err := f.Delta.Apply(c.a); err != nil {
				e.add("apply delta %d->%d: %v", f.Delta.From, f.Delta.To, err)
				c.conn.WriteMessage(websocket.BinaryMessage, wire.AppendRequestSnapshot(nil, c.a.Version))
				continue
			}
			c.version.Store(c.a.Version)
		}
	}
}

// isMapFrame says whether msg is a frame of the 2D map, from its header
// alone (magic "DC", the format version, the kind).
func isMapFrame(msg []byte) bool {
	if len(msg) < wire.HeaderSize || msg[0] != 'D' || msg[1] != 'C' || msg[2] != wire.Version {
		return false // DecodeFrame says what is wrong with it
	}
	switch wire.FrameKind(msg[3]) {
	case wire.KindLayout, wire.KindLayoutDelta, wire.KindLayoutProgress:
		return true
	}
	return false
}
