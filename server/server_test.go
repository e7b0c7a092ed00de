package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
	"github.com/gorilla/websocket"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// testDataset is a small real synthetic dataset.
func testDataset(t *testing.T, n int) deepercluster.Dataset {
	t.Helper()
	ds, err := synthetic.New(synthetic.Config{Seed: 1, N: n, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// assignmentFor makes a valid assignment of n images; when shift is not 0,
// images whose index is a multiple of 10 go to the sub-cluster shift places
// further on (mod m*k) than in an assignment of the same seed with shift 0.
func assignmentFor(version uint32, n, m, k int, seed uint64, shift int32) *deepercluster.Assignment {
	rng := rand.New(rand.NewPCG(seed, 1))
	a := &deepercluster.Assignment{Version: version, M: m, Super: make([]int32, n), Sub: make([]int32, n)}
	for j := 0; j < m*k; j++ {
		a.SubParent = append(a.SubParent, int32(j/k))
	}
	for i := range n {
		z := int32(rng.IntN(m * k))
		if shift != 0 && i%10 == 0 {
			z = (z + shift) % int32(m*k)
		}
		a.Sub[i], a.Super[i] = z, a.SubParent[z]
	}
	return a
}

type testServer struct {
	s    *Server
	ts   *httptest.Server
	stop context.CancelFunc
	done chan struct{}
}

func startServer(t *testing.T, cfg Config, ds deepercluster.Dataset, search Searcher) *testServer {
	t.Helper()
	s, err := New(cfg, ds, search, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.CloseClients()
		ts.Close()
		cancel()
		<-done
	})
	return &testServer{s: s, ts: ts, stop: cancel, done: done}
}

func (ts *testServer) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(ts.ts.URL, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	return u
}

func dial(t *testing.T, u string, h http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", u, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// client is a websocket client that keeps the state the browser keeps.
type client struct {
	t    *testing.T
	conn *websocket.Conn
	a    *deepercluster.Assignment
	sums []deepercluster.ClusterSummary
	kind map[wire.FrameKind]int
	pong uint64
	info *deepercluster.RunInfo // the latest run info received
	hist *deepercluster.History
}

func newClient(t *testing.T, conn *websocket.Conn) *client {
	return &client{t: t, conn: conn, kind: map[wire.FrameKind]int{}}
}

// readUntil reads frames, applying them, until cond holds.
func (c *client) readUntil(what string, cond func() bool) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !cond() {
		typ, msg, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v (at version %d after frames %v)", what, err, c.version(), c.kind)
		}
		if typ != websocket.BinaryMessage {
			c.t.Fatalf("got message type %d, want binary", typ)
		}
		f, err := wire.DecodeFrame(msg)
		if err != nil {
			c.t.Fatalf("decode: %v", err)
		}
		c.kind[f.Kind]++
		switch f.Kind {
		case wire.KindSnapshot:
			c.a, c.sums, c.info = f.Assignment, f.Summaries, f.Info
		case wire.KindRunInfo:
			c.info = f.Info
		case wire.KindDelta:
			if c.a == nil {
				c.t.Fatal("delta before any snapshot")
			}
			if err := f.Delta.Apply(c.a); err != nil {
				c.t.Fatalf("apply delta: %v", err)
			}
		case wire.KindSummaries:
			c.sums = f.Summaries
		case wire.KindPong:
			c.pong = f.Nonce
		case wire.KindHistory:
			c.hist = f.History
		}
	}
}

func (c *client) version() uint32 {
	if c.a == nil {
		return 0
	}
	return c.a.Version
}

func sameAssignment(t *testing.T, got, want *deepercluster.Assignment) {
	t.Helper()
	if got.Version != want.Version || got.M != want.M || len(got.Super) != len(want.Super) || len(got.SubParent) != len(want.SubParent) {
		t.Fatalf("assignment v%d m%d n%d, want v%d m%d n%d", got.Version, got.M, len(got.Super), want.Version, want.M, len(want.Super))
	}
	for i := range got.Super {
		if got.Super[i] != want.Super[i] || got.Sub[i] != want.Sub[i] {
			t.Fatalf("image %d: %d/%d want %d/%d", i, got.Super[i], got.Sub[i], want.Super[i], want.Sub[i])
		}
	}
}

func TestSnapshotThenDeltasReachEveryClient(t *testing.T) {
	const n = 2000
	ts := startServer(t, Config{}, testDataset(t, n), nil)
	v1 := assignmentFor(1, n, 4, 5, 7, 0)
	ts.s.OnAssignment(v1)

	var clients []*client
	for range 3 {
		c := newClient(t, dial(t, ts.wsURL(""), nil))
		c.readUntil("snapshot v1", func() bool { return c.version() == 1 })
		sameAssignment(t, c.a, v1)
		clients = append(clients, c)
	}
	// A new version with the same hierarchy and a new one.
	v2 := assignmentFor(2, n, 4, 5, 7, 3)
	v3 := assignmentFor(3, n, 6, 4, 8, 0)
	for _, next := range []*deepercluster.Assignment{v2, v3} {
		ts.s.OnAssignment(next)
		for i, c := range clients {
			c.readUntil("next version", func() bool { return c.version() == next.Version })
			sameAssignment(t, c.a, next)
			if c.kind[wire.KindSnapshot] != 1 {
				t.Fatalf("client %d got %d snapshots, want 1 and deltas after", i, c.kind[wire.KindSnapshot])
			}
		}
	}
	if d := clients[0].kind[wire.KindDelta]; d != 2 {
		t.Fatalf("%d deltas, want 2", d)
	}
	// A late client gets the latest version as a snapshot.
	late := newClient(t, dial(t, ts.wsURL(""), nil))
	late.readUntil("snapshot v3", func() bool { return late.version() == 3 })
	sameAssignment(t, late.a, v3)
}

func TestProgressAndMetricsFrames(t *testing.T) {
	ts := startServer(t, Config{ProgressEvery: 10 * time.Millisecond}, testDataset(t, 100), nil)
	c := newClient(t, dial(t, ts.wsURL(""), nil))
	c.readUntil("run info", func() bool { return c.kind[wire.KindRunInfo] > 0 })
	for i := range 50 {
		ts.s.OnProgress(deepercluster.Progress{Phase: deepercluster.PhaseTraining, Step: i})
	}
	ts.s.OnMetrics(deepercluster.Metrics{Version: 1, Epoch: 1, StabilityNMI: 0.5})
	c.readUntil("progress and metrics", func() bool {
		return c.kind[wire.KindProgress] > 0 && c.kind[wire.KindMetrics] > 0
	})
	// 50 progress events in a burst are coalesced, not queued one by one.
	if p := c.kind[wire.KindProgress]; p >= 50 {
		t.Fatalf("%d progress frames for a burst of 50 events", p)
	}
}

func TestPingAndRequestSnapshot(t *testing.T) {
	const n = 300
	ts := startServer(t, Config{}, testDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	c := newClient(t, dial(t, ts.wsURL(""), nil))
	c.readUntil("snapshot", func() bool { return c.version() == 1 })
	if err := c.conn.WriteMessage(websocket.BinaryMessage, wire.AppendPing(nil, 4242)); err != nil {
		t.Fatal(err)
	}
	c.readUntil("pong", func() bool { return c.pong == 4242 })
	if err := c.conn.WriteMessage(websocket.BinaryMessage, wire.AppendRequestSnapshot(nil, 1)); err != nil {
		t.Fatal(err)
	}
	c.readUntil("second snapshot", func() bool { return c.kind[wire.KindSnapshot] == 2 })
	// A frame that does not decode closes the connection with a reason.
	c.conn.WriteMessage(websocket.BinaryMessage, []byte("garbage"))
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
				t.Fatalf("got %v, want a policy-violation close", err)
			}
			break
		}
	}
}

// A client that never reads must not hold up the others: its queue
// overflows, it is marked stale, and when it reads again it gets a fresh
// snapshot of the latest version.
func TestStalledClientDoesNotDelayOthers(t *testing.T) {
	const n = 200_000 // snapshots of ~400 KB fill socket buffers fast
	ts := startServer(t, Config{QueueFrames: 4, QueueBytes: 1 << 20}, testDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 4, 50, 1, 0))

	// The stalled client: a raw websocket that reads nothing at all.
	stalled, _, err := websocket.DefaultDialer.Dial(ts.wsURL(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fast := newClient(t, dial(t, ts.wsURL(""), nil))
	fast.readUntil("v1", func() bool { return fast.version() == 1 })

	const versions = 30
	var last *deepercluster.Assignment
	for v := uint32(2); v <= versions; v++ {
		last = assignmentFor(v, n, 4, 50, uint64(v), 0) // ~all images move
		ts.s.OnAssignment(last)
		fast.readUntil("next version", func() bool { return fast.version() == v })
	}
	sameAssignment(t, fast.a, last)
	if ts.s.hub.Dropped() == 0 {
		t.Fatal("no frame dropped for the stalled client: the test did not stall it")
	}
	// Now the stalled client catches up and converges to the latest version.
	sc := newClient(t, stalled)
	sc.readUntil("latest version", func() bool { return sc.version() == versions })
	sameAssignment(t, sc.a, last)
	if ts.s.hub.Resyncs() == 0 {
		t.Fatal("stalled client was not resynchronised with a snapshot")
	}
}

// get performs a request and decodes a JSON answer.
// send makes one request and reads the whole answer.
func send(t *testing.T, method, u, body string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// do is send with the answer decoded as JSON when it says it is JSON.
func do(t *testing.T, method, u, body string, h http.Header) (int, map[string]any, http.Header) {
	t.Helper()
	resp, raw := send(t, method, u, body, h)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, u, raw, err)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func TestBadRequests(t *testing.T) {
	const n = 500
	ts := startServer(t, Config{MaxBody: 1024}, testDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, ts.s, 1)
	u := ts.ts.URL
	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"unknown endpoint", "GET", "/api/nope", "", 404, ""},
		{"cluster super not a number", "GET", "/api/clusters/x/0", "", 400, "super"},
		{"cluster super out of range", "GET", "/api/clusters/9/0", "", 404, "super"},
		{"cluster sub out of range", "GET", "/api/clusters/0/99", "", 404, "sub"},
		{"cluster sub of another super", "GET", "/api/clusters/1/0", "", 404, "sub"},
		{"cluster negative page", "GET", "/api/clusters/0/0?page=-1", "", 400, "page"},
		{"cluster page past the end", "GET", "/api/clusters/0/0?page=999", "", 404, "page"},
		{"thumb id not a number", "GET", "/api/images/abc/thumb", "", 400, "id"},
		{"thumb id negative", "GET", "/api/images/-1/thumb", "", 404, "id"},
		{"thumb id past the end", "GET", "/api/images/500/thumb", "", 404, "id"},
		{"search empty", "GET", "/api/search?q=", "", 400, "q"},
		{"search too long", "GET", "/api/search?q=" + strings.Repeat("a", 1025), "", 400, "q"},
		{"search bad limit", "GET", "/api/search?q=a&limit=0", "", 400, "limit"},
		{"suggest empty", "GET", "/api/suggest", "", 400, "prefix"},
		{"export bad format", "GET", "/api/export?format=xml", "", 400, "format"},
		{"recluster empty body", "POST", "/api/recluster", "", 400, ""},
		{"recluster bad JSON", "POST", "/api/recluster", "{", 400, ""},
		{"recluster unknown field", "POST", "/api/recluster", `{"kk": 3}`, 400, "kk"},
		{"recluster wrong type", "POST", "/api/recluster", `{"m": "many"}`, 400, "m"},
		{"recluster body too large", "POST", "/api/recluster", `{"preset":"` + strings.Repeat("x", 2000) + `"}`, 413, ""},
		{"wrong method", "DELETE", "/api/run", "", 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := do(t, c.method, u+c.path, c.body, nil)
			if status != c.status {
				t.Fatalf("status %d, want %d (%v)", status, c.status, body)
			}
			msg, _ := body["error"].(string)
			if msg == "" {
				t.Fatalf("no error message in %v", body)
			}
			if f, _ := body["field"].(string); f != c.field {
				t.Fatalf("field %q, want %q (%s)", f, c.field, msg)
			}
		})
	}
}

func waitVersion(t *testing.T, s *Server, v uint32) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.version() < v {
		if time.Now().After(deadline) {
			t.Fatalf("version %d never published", v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClusterPagesThumbsAndExport(t *testing.T) {
	const n = 450
	ds := testDataset(t, n)
	ts := startServer(t, Config{PageSize: 20}, ds, nil)
	a := assignmentFor(1, n, 3, 2, 5, 0)
	ts.s.OnAssignment(a)
	waitVersion(t, ts.s, 1)
	u := ts.ts.URL

	status, body, _ := do(t, "GET", u+"/api/clusters", "", nil)
	if status != 200 {
		t.Fatalf("clusters: %d %v", status, body)
	}
	supers := body["supers"].([]any)
	total := 0
	for _, s := range supers {
		total += int(s.(map[string]any)["size"].(float64))
	}
	if len(supers) != 3 || total != n {
		t.Fatalf("%d supers holding %d images, want 3 and %d", len(supers), total, n)
	}

	// Every image of sub-cluster 0 comes back exactly once over the pages.
	seen := map[int]bool{}
	for page := 0; ; page++ {
		status, body, _ := do(t, "GET", u+"/api/clusters/0/0?page="+strconv.Itoa(page), "", nil)
		if status != 200 {
			t.Fatalf("page %d: %d %v", page, status, body)
		}
		for _, im := range body["images"].([]any) {
			id := int(im.(map[string]any)["id"].(float64))
			if a.Sub[id] != 0 || seen[id] {
				t.Fatalf("image %d listed wrongly (sub %d, seen %v)", id, a.Sub[id], seen[id])
			}
			seen[id] = true
		}
		if page+1 >= int(body["pages"].(float64)) {
			break
		}
	}
	_, subSizes := a.Sizes()
	if len(seen) != subSizes[0] {
		t.Fatalf("pages listed %d images of %d", len(seen), subSizes[0])
	}

	// The panel's quality figures: share of the dataset and label purity,
	// counted here from the dataset.
	_, body, _ = do(t, "GET", u+"/api/clusters/0/0", "", nil)
	q := body["quality"].(map[string]any)
	if got, want := q["dataset_share"].(float64), float64(subSizes[0])/n; math.Abs(got-want) > 1e-9 {
		t.Errorf("dataset_share %v, want %v", got, want)
	}
	labelCounts := map[int]int{}
	best := 0
	for id := range seen {
		l, _ := ds.Label(id)
		labelCounts[l]++
		best = max(best, labelCounts[l])
	}
	if _, labelled := ds.Label(0); labelled {
		if got, want := q["label_purity"].(float64), float64(best)/float64(len(seen)); math.Abs(got-want) > 1e-9 {
			t.Errorf("label_purity %v, want %v", got, want)
		}
	} else if _, ok := q["label_purity"]; ok {
		t.Error("label_purity reported for a dataset without labels")
	}

	// Thumbnails: a PNG with an ETag, then 304 for the same tag.
	resp, err := http.Get(u + "/api/images/7/thumb")
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(png), "\x89PNG") || etag == "" {
		t.Fatalf("thumb: %d %q etag %q", resp.StatusCode, resp.Header.Get("Content-Type"), etag)
	}
	status, _, _ = do(t, "GET", u+"/api/images/7/thumb", "", http.Header{"If-None-Match": {etag}})
	if status != http.StatusNotModified {
		t.Fatalf("thumb with matching ETag: %d, want 304", status)
	}

	// Export: one row per image with its clusters and tags.
	for _, format := range []string{"csv", "jsonl"} {
		resp, err := http.Get(u + "/api/export?format=" + format)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		rows := 0
		for sc.Scan() {
			line := sc.Text()
			if format == "csv" && rows == 0 {
				if line != "id,super,sub,tags,cluster_name,verdict,note" {
					t.Fatalf("csv header %q", line)
				}
			} else if format == "jsonl" {
				var r struct {
					ID         int
					Super, Sub int32
					Tags       []string
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				if r.Super != a.Super[r.ID] || r.Sub != a.Sub[r.ID] || len(r.Tags) != len(ds.Meta(r.ID).Tags) {
					t.Fatalf("row %+v does not match the assignment", r)
				}
			}
			rows++
		}
		resp.Body.Close()
		want := n
		if format == "csv" {
			want++
		}
		if rows != want {
			t.Fatalf("%s: %d rows, want %d", format, rows, want)
		}
	}

	// Metrics and health.
	resp, err = http.Get(u + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(mb), "deepercluster_assignment_version 1") || !strings.Contains(string(mb), `deepercluster_http_requests_total{code="304"`) {
		t.Fatalf("metrics lack the version or request counts:\n%.2000s", mb)
	}
	if status, body, _ := do(t, "GET", u+"/healthz", "", nil); status != 200 || body["status"] != "ok" {
		t.Fatalf("healthz: %d %v", status, body)
	}
}

func TestTokenAndOrigin(t *testing.T) {
	const n = 100
	ts := startServer(t, Config{Token: "s3cret", AllowOrigins: []string{"http://allowed.example"}}, testDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 1, 2, 1, 0))
	u := ts.ts.URL

	wsCases := []struct {
		name   string
		query  string
		header http.Header
		status int // 0: upgrade succeeds
	}{
		{"no token", "", nil, 401},
		{"wrong token", "token=nope", nil, 403},
		{"query token", "token=s3cret", nil, 0},
		{"bearer token", "", http.Header{"Authorization": {"Bearer s3cret"}}, 0},
		{"same origin", "token=s3cret", http.Header{"Origin": {u}}, 0},
		{"allowed origin", "token=s3cret", http.Header{"Origin": {"http://allowed.example"}}, 0},
		{"foreign origin", "token=s3cret", http.Header{"Origin": {"http://evil.example"}}, 403},
	}
	for _, c := range wsCases {
		t.Run("ws "+c.name, func(t *testing.T) {
			checkUpgrade(t, ts.wsURL(c.query), c.header, c.status)
		})
	}
	// POST needs the token too; GET does not.
	if status, body, _ := do(t, "POST", u+"/api/recluster", `{"k": 3}`, nil); status != 401 || body["field"] != "token" {
		t.Fatalf("POST without token: %d %v", status, body)
	}
	if status, _, _ := do(t, "GET", u+"/api/clusters", "", nil); status != 200 {
		t.Fatalf("GET without token: %d", status)
	}
}

func TestTokenGeneratedOffLoopback(t *testing.T) {
	cases := []struct {
		addr  string
		token string
		want  bool // a token is required
	}{
		{"127.0.0.1:8080", "", false},
		{"localhost:8080", "", false},
		{"[::1]:8080", "", false},
		{"0.0.0.0:8080", "", true},
		{":8080", "", true},
		{"192.168.1.5:80", "", true},
		{"127.0.0.1:8080", "given", true},
	}
	ds := testDataset(t, 10)
	for _, c := range cases {
		s, err := New(Config{Addr: c.addr, Token: c.token}, ds, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (s.Token() != "") != c.want {
			t.Errorf("%s: token %q, want required=%v", c.addr, s.Token(), c.want)
		}
		if c.token != "" && s.Token() != c.token {
			t.Errorf("%s: token %q, want the given one", c.addr, s.Token())
		}
	}
}

func TestStaticFiles(t *testing.T) {
	ts := startServer(t, Config{}, testDataset(t, 10), nil)
	resp, err := http.Get(ts.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<html") {
		t.Fatalf("index: %d %.200s", resp.StatusCode, b)
	}
	if resp, err := http.Get(ts.ts.URL + "/static.go"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("Go source served: %v %v", err, resp.StatusCode)
	}
}

// checkUpgrade dials a websocket and checks the answer: accepted when status
// is 0, else refused with that HTTP status.
func checkUpgrade(t *testing.T, url string, header http.Header, status int) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if status == 0 {
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conn.Close()
		return
	}
	if err == nil {
		conn.Close()
		t.Fatal("upgrade accepted")
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("got %v, want status %d", resp, status)
	}
}
