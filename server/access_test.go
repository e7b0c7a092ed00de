package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/labstack/echo/v4"
)

// nonLoopbackIP is an address of this machine other than loopback, or
// nil when it has none.
func nonLoopbackIP() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP
		}
	}
	return nil
}

// accessServer serves a real Server the way `serve` does for a
// non-loopback address: on the machine's own non-loopback IP where it
// has one, else (the rules are decided by Config.Addr alone) on loopback
// with Config.Addr naming a documentation address.
func accessServer(t *testing.T, n int) (*Server, string) {
	t.Helper()
	ln, err := (*net.TCPListener)(nil), error(nil)
	addr := "192.0.2.10:8080" // TEST-NET-1: never this machine
	if ip := nonLoopbackIP(); ip != nil {
		var l net.Listener
		if l, err = net.Listen("tcp", net.JoinHostPort(ip.String(), "0")); err == nil {
			ln = l.(*net.TCPListener)
			addr = ln.Addr().String()
			t.Logf("listening on the non-loopback address %s", addr)
		}
	}
	if ln == nil {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln = l.(*net.TCPListener)
		t.Logf("no usable non-loopback address; Config.Addr %s, listening on %s", addr, ln.Addr())
	}
	ds := fuzzDataset(t, n)
	s, err := New(Config{Addr: addr, MaxBody: 4096}, ds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetRun(&paramsRun{ds: ds, info: deepercluster.RunInfo{ID: "r", Images: n,
		Params: deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, ReclusterEvery: 1, PCADim: 8}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 2 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		s.CloseClients()
		hs.Close()
		cancel()
		<-done
	})
	s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, s, 1)
	return s, "http://" + ln.Addr().String()
}

func request(t *testing.T, method, u, body string, h http.Header) (int, string) {
	t.Helper()
	resp, b := send(t, method, u, body, h)
	return resp.StatusCode, string(b)
}

func TestAccessOffLoopback(t *testing.T) {
	const n = 50
	s, base := accessServer(t, n)
	token := s.Token()
	if token == "" {
		t.Fatal("no token generated for a non-loopback address")
	}
	u, _ := url.Parse(base)
	wsBase := "ws://" + u.Host + "/ws"
	foreign := http.Header{"Origin": {"http://evil.example"}}
	bearer := func(tok string, extra http.Header) http.Header {
		h := http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}

	// Every route that is not a read is guarded, whatever routes exist.
	// POST /api/export is a read whose id list may be too long for a URL:
	// it is open like GET /api/export.
	e := s.Handler().(*echo.Echo)
	var mutating []string
	for _, r := range e.Routes() {
		switch {
		case r.Method == http.MethodGet, r.Method == http.MethodHead, r.Method == echo.RouteNotFound:
			continue
		case r.Method == http.MethodPost && r.Path == "/api/export":
			continue
		}
		mutating = append(mutating, r.Method+" "+strings.ReplaceAll(strings.ReplaceAll(r.Path, ":super", "0"), ":sub", "0"))
	}
	if len(mutating) == 0 {
		t.Fatal("no mutating routes found: the route listing is broken")
	}
	for _, mr := range mutating {
		method, path, _ := strings.Cut(mr, " ")
		t.Run(mr, func(t *testing.T) {
			body := `{"k": 2}`
			if code, b := request(t, method, base+path, body, http.Header{"Content-Type": {"application/json"}}); code != http.StatusUnauthorized {
				t.Fatalf("no token: %d %s", code, b)
			}
			if code, b := request(t, method, base+path, body, bearer("wrong", nil)); code != http.StatusForbidden {
				t.Fatalf("wrong token: %d %s", code, b)
			}
			if code, b := request(t, method, base+path+"?token=wrong", body, nil); code != http.StatusForbidden {
				t.Fatalf("wrong query token: %d %s", code, b)
			}
			if code, b := request(t, method, base+path, body, bearer(token, foreign)); code != http.StatusForbidden {
				t.Fatalf("right token, foreign Origin: %d %s", code, b)
			}
			if code, b := request(t, method, base+path, strings.Repeat(" ", 5000)+body, bearer(token, nil)); code != http.StatusRequestEntityTooLarge {
				t.Fatalf("oversized body: %d %s", code, b)
			}
		})
	}
	// With the token the recluster works (a note needs a clustering first;
	// TestNoteTokenRules has it).
	if code, b := request(t, http.MethodPost, base+"/api/recluster", `{"k": 2}`, bearer(token, http.Header{"Origin": {base}})); code != http.StatusAccepted {
		t.Fatalf("recluster with the token: %d %s, want 202", code, b)
	}
	// Reads never change anything, and other methods are not routes.
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/api/run", "/api/recluster", "/api/clusters", "/ws"} {
			if code, _ := request(t, m, base+p, "{}", nil); code < 400 {
				t.Fatalf("%s %s answered %d", m, p, code)
			}
		}
	}

	wsCases := []struct {
		name   string
		url    string
		header http.Header
		status int // 0: upgrade succeeds
	}{
		{"no token", wsBase, nil, 401},
		{"wrong token", wsBase + "?token=wrong", nil, 403},
		{"wrong bearer", wsBase, http.Header{"Authorization": {"Bearer " + token + "x"}}, 403},
		{"empty token", wsBase + "?token=", nil, 401},
		{"foreign origin", wsBase + "?token=" + token, foreign, 403},
		{"null origin", wsBase + "?token=" + token, http.Header{"Origin": {"null"}}, 403},
		{"origin with the host as a prefix", wsBase + "?token=" + token, http.Header{"Origin": {"http://" + u.Host + ".evil.example"}}, 403},
		{"token", wsBase + "?token=" + token, nil, 0},
		{"same origin", wsBase + "?token=" + token, http.Header{"Origin": {base}}, 0},
	}
	for _, c := range wsCases {
		t.Run("ws "+c.name, func(t *testing.T) {
			checkUpgrade(t, c.url, c.header, c.status)
		})
	}

	// Chunked bodies (no Content-Length) are cut at the limit too.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"k": 2, "preset": "`))
		pw.Write([]byte(strings.Repeat("x", 10000)))
		pw.Write([]byte(`"}`))
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/recluster", pr)
	req.Header = bearer(token, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength > 0 && resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body: %d", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body: %d, want 413", resp.StatusCode)
	}
}

func TestThumbIDsOutsideTheDataset(t *testing.T) {
	const n = 50
	ts := startServer(t, Config{}, fuzzDataset(t, n), nil)
	for _, id := range []string{
		"-1", "50", "51", "2147483648", "9223372036854775807", "99999999999999999999", "-99999999999999999999",
		"..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%2e%2e%2f", "1%2F2", "..%5C..%5Cwin.ini", "0%00", "+50", "49.5",
		"%2Fetc%2Fpasswd",
	} {
		t.Run(id, func(t *testing.T) {
			code, body := request(t, http.MethodGet, ts.ts.URL+"/api/images/"+id+"/thumb", "", nil)
			if code != http.StatusNotFound {
				t.Fatalf("thumb %q: %d %s, want 404", id, code, body)
			}
		})
	}
	for _, id := range []string{"abc", "1e3", "0x10", "-0x1", " 1"} {
		if code, body := request(t, http.MethodGet, ts.ts.URL+"/api/images/"+url.PathEscape(id)+"/thumb", "", nil); code != http.StatusBadRequest {
			t.Fatalf("thumb %q: %d %s, want 400 (not an integer)", id, code, body)
		}
	}
	// Raw paths that clients would clean: sent as they are.
	for _, p := range []string{"/api/images/../../etc/passwd/thumb", "/api/images/./1/thumb/..", "/api/images//thumb", "/api/images/1/../../../thumb"} {
		code, _ := rawGet(t, ts.ts.Listener.Addr().String(), p)
		if code == http.StatusOK {
			t.Fatalf("raw path %q answered 200", p)
		}
	}
	for _, id := range []string{"0", "49", "007"} {
		if code, _ := request(t, http.MethodGet, ts.ts.URL+"/api/images/"+id+"/thumb", "", nil); code != http.StatusOK {
			t.Fatalf("thumb %s: %d, want 200", id, code)
		}
	}
}

// rawGet sends a request line exactly as given (no path cleaning).
func rawGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestGarbageVolley throws malformed HTTP, broken websocket handshakes,
// abandoned requests and junk API calls at the server; it must answer
// /healthz afterwards and keep serving clients.
func TestGarbageVolley(t *testing.T) {
	const n = 50
	ts := startServer(t, Config{MaxBody: 4096}, fuzzDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, ts.s, 1)
	addr := ts.ts.Listener.Addr().String()
	rng := rand.New(rand.NewPCG(9, 9))
	raw := []string{
		"\x00\x01\x02\x03\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/9.9\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"POST /api/recluster HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\n",
		"POST /api/recluster HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: !!\r\nSec-WebSocket-Version: 99\r\n\r\n",
		"GET /" + strings.Repeat("a", 100000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("b", 2<<20) + "\r\n\r\n",
		"GET /api/clusters/0/0?page=" + strings.Repeat("9", 50) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/search?q=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/export?format=csv HTTP/1.1\r\nHost: x\r\n\r\n", // abandoned mid-stream below
		"GET /api/images/1/thumb HTTP/1.1\r\nHost: x\r\n",        // never finished
	}
	for i := 0; i < 80; i++ {
		var msg string
		if i < len(raw) {
			msg = raw[i]
		} else {
			b := make([]byte, 1+rng.IntN(300))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			if rng.IntN(2) == 0 {
				msg = "GET /api/" + url.PathEscape(string(b)) + " HTTP/1.1\r\nHost: x\r\n\r\n"
			} else {
				msg = string(b)
			}
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("request %d: dial: %v (server down?)", i, err)
		}
		c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		c.Write([]byte(msg))
		buf := make([]byte, 512)
		c.Read(buf) // whatever comes back, or nothing
		c.Close()
	}
	// Junk API calls through a normal client.
	for i := 0; i < 100; i++ {
		q := url.Values{}
		for _, k := range []string{"q", "text", "limit", "op", "prefix", "page", "format"} {
			if rng.IntN(2) == 0 {
				b := make([]byte, rng.IntN(40))
				for j := range b {
					b[j] = byte(rng.IntN(256))
				}
				q.Set(k, string(b))
			}
		}
		paths := []string{"/api/search", "/api/suggest", "/api/clusters/0/0", "/api/export", "/api/run", "/api/clusters/1/x", "/api/images/1/thumb"}
		code, _ := request(t, http.MethodGet, ts.ts.URL+paths[rng.IntN(len(paths))]+"?"+q.Encode(), "", nil)
		if code >= 500 && code != http.StatusServiceUnavailable {
			t.Fatalf("junk call %d answered %d", i, code)
		}
	}
	code, body := request(t, http.MethodGet, ts.ts.URL+"/healthz", "", nil)
	if code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz after the volley: %d %s", code, body)
	}
	// A client still gets the current version.
	conn := dial(t, ts.wsURL(""), nil)
	c := newClient(t, conn)
	c.readUntil("snapshot", func() bool { return c.version() == 1 })
	ts.s.OnAssignment(assignmentFor(2, n, 2, 3, 1, 1))
	c.readUntil("version 2", func() bool { return c.version() == 2 })
}

// TestLoopbackRefusesForeignOriginsAndHosts covers the server without a
// token (loopback): a web page the user visits may still send requests to
// it, so mutating requests from a foreign Origin are refused, and requests
// naming a host that is not loopback (DNS rebinding) are refused.
func TestLoopbackRefusesForeignOriginsAndHosts(t *testing.T) {
	const n = 50
	ds := fuzzDataset(t, n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Addr: ln.Addr().String()}, ds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Token() != "" {
		t.Fatal("loopback server generated a token")
	}
	run := &paramsRun{ds: ds, info: deepercluster.RunInfo{ID: "r", Images: n, Params: deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, ReclusterEvery: 1, PCADim: 8}}}
	s.SetRun(run)
	hs := &http.Server{Handler: s.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	// A cross-site form or fetch: foreign Origin, no or a simple content type.
	for _, ct := range []string{"", "text/plain", "application/json"} {
		h := http.Header{"Origin": {"http://evil.example"}}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		if code, b := request(t, http.MethodPost, base+"/api/recluster", `{"k": 2}`, h); code != http.StatusForbidden {
			t.Fatalf("cross-site POST (Content-Type %q): %d %s", ct, code, b)
		}
	}
	if len(run.got) != 0 {
		t.Fatalf("a cross-site request reached the run: %+v", run.got)
	}
	// DNS rebinding: the page's own name now points at 127.0.0.1.
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port} {
		for _, p := range []string{"/api/run", "/api/export", "/ws"} {
			req, _ := http.NewRequest(http.MethodGet, base+p, nil)
			req.Host = host
			req.Header.Set("Origin", "http://"+host)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("Host %q %s: %d, want 403", host, p, resp.StatusCode)
			}
		}
	}
	// The user's own browser on localhost still works.
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port} {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/recluster", strings.NewReader(`{"k": 2}`))
		req.Host = host
		req.Header.Set("Origin", "http://"+host)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusConflict {
			t.Fatalf("same-origin POST via %s: %d", host, resp.StatusCode)
		}
	}
}

// TestBodyLimitPerRoute: every route refuses a body over its own limit,
// set where the route is registered: Config.MaxBody for all of them but
// POST /api/export, which takes a selection up to Config.MaxExportBody. A
// route registered without a limit fails here.
func TestBodyLimitPerRoute(t *testing.T) {
	const n, maxBody, maxExport = 50, 4096, 64 << 10
	ts := startServer(t, Config{MaxBody: maxBody, MaxExportBody: maxExport}, fuzzDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, ts.s, 1)
	h := ts.s.Handler()
	// selection is a valid export body of size bytes: ids, then padding.
	selection := func(size int) string {
		b := `{"ids": [0, 1, 2]}`
		return b + strings.Repeat(" ", size-len(b))
	}
	type bodyCase struct {
		method, path string
		body         string
		want         int
	}
	var cases []bodyCase
	for _, r := range h.(*echo.Echo).Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		path := strings.NewReplacer(":super", "0", ":sub", "0", ":id", "0", "*", "index.html").Replace(r.Path)
		if r.Method == http.MethodPost && r.Path == "/api/export" {
			cases = append(cases,
				bodyCase{r.Method, path, selection(maxBody + 1), http.StatusOK},
				bodyCase{r.Method, path, selection(maxExport), http.StatusOK},
				bodyCase{r.Method, path, selection(maxExport + 1), http.StatusRequestEntityTooLarge})
			continue
		}
		cases = append(cases, bodyCase{r.Method, path, strings.Repeat(" ", maxBody+1), http.StatusRequestEntityTooLarge})
	}
	if len(cases) < 20 {
		t.Fatalf("%d cases: the route listing is broken", len(cases))
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s %d bytes", c.method, c.path, len(c.body)), func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body.String()[:min(rec.Body.Len(), 200)], c.want)
			}
		})
	}
}
