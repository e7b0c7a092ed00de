package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/index"
	"github.com/deepercluster/deepercluster/wire"
	"github.com/gorilla/websocket"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// fuzzDataset is a small real synthetic dataset for fuzz targets.
func fuzzDataset(tb testing.TB, n int) deepercluster.Dataset {
	tb.Helper()
	ds, err := synthetic.New(synthetic.Config{Seed: 1, N: n, Resolution: 16})
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// errorBody checks that a non-2xx answer is the API's JSON error.
func errorBody(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("status %d with body %q: want {\"error\": ...}", rec.Code, rec.Body.Bytes())
	}
}

// FuzzSearchHandler sends arbitrary query strings through /api/search and
// /api/suggest to a real bleve index: every answer is 200 with a result
// that fits the index, or a 400/503 JSON error; nothing panics.
func FuzzSearchHandler(f *testing.F) {
	const n = 200
	ds := fuzzDataset(f, n)
	ix, err := index.Open(f.TempDir(), ds, index.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer ix.Close()
	a := assignmentFor(3, n, 2, 3, 1, 0)
	if err := ix.Build(context.Background(), a, nil); err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{}, ds, ix, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	for _, seed := range [][4]string{
		{"travel", "", "", ""}, {"travel,beach", "", "or", "5"}, {"tra*", "", "", ""}, {"", "sunset +sea -city", "", ""},
		{"", `title:"a b"`, "and", "1000"}, {"", "taken:>=\"2010-01-01\"", "", ""}, {"", "sub:\"0\"", "", ""},
		{"*", "(((", "xor", "-1"}, {",,,", "/re[/", "", "0"}, {"東京*", "a~2 東京^3", "", "abc"},
		{"\x00\xff", "\u202e", "", ""}, {strings.Repeat("a,", 600), "", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, q, text, op, limit string) {
		v := url.Values{}
		for k, x := range map[string]string{"q": q, "text": text, "op": op, "limit": limit} {
			if x != "" {
				v.Set(k, x)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/search?"+v.Encode(), nil))
		switch rec.Code {
		case http.StatusOK:
			var out struct {
				Result deepercluster.SearchResult `json:"result"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("200 with bad JSON %q: %v", rec.Body.Bytes(), err)
			}
			r := out.Result
			if r.Version != a.Version || r.Images != n || r.Matches < 0 || r.Matches > n {
				t.Fatalf("result version %d images %d matches %d, index holds v%d of %d", r.Version, r.Images, r.Matches, a.Version, n)
			}
			sum := 0
			for _, hit := range r.Subs {
				if hit.ID < 0 || int(hit.ID) >= len(a.SubParent) || hit.Super != a.SubParent[hit.ID] || hit.Count < 1 || hit.Count > hit.Size {
					t.Fatalf("impossible sub-cluster hit %+v", hit)
				}
				sum += hit.Count
			}
			if len(r.Subs) == len(a.SubParent) && sum != r.Matches {
				t.Fatalf("sub-cluster counts add to %d, matches %d", sum, r.Matches)
			}
		case http.StatusBadRequest, http.StatusServiceUnavailable:
			errorBody(t, rec)
		default:
			t.Fatalf("status %d for %s: %s", rec.Code, v.Encode(), rec.Body.Bytes())
		}

		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/suggest?"+url.Values{"prefix": {q}, "limit": {limit}}.Encode(), nil))
		switch rec.Code {
		case http.StatusOK:
			var out struct {
				Tags []deepercluster.TagCount `json:"tags"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("suggest: 200 with bad JSON: %v", err)
			}
			for _, tc := range out.Tags {
				if tc.Count < 1 || tc.Count > n {
					t.Fatalf("suggest: tag %q counted %d of %d images", tc.Tag, tc.Count, n)
				}
			}
		case http.StatusBadRequest, http.StatusServiceUnavailable:
			errorBody(t, rec)
		default:
			t.Fatalf("suggest: status %d: %s", rec.Code, rec.Body.Bytes())
		}
	})
}

// paramsRun is a TrainingRun that only records what the handler hands it: the
// recluster handler's job is to turn a body into RunParams, and the real
// trainer would keep the first request pending for every later one. Its
// RequestRecluster validates as the trainer does.
type paramsRun struct {
	ds   deepercluster.Dataset
	mu   sync.Mutex
	got  []deepercluster.RunParams
	info deepercluster.RunInfo
}

func (r *paramsRun) Info() deepercluster.RunInfo           { return r.info }
func (r *paramsRun) Assignment() *deepercluster.Assignment { return nil }
func (r *paramsRun) History() deepercluster.History        { return deepercluster.History{} }
func (r *paramsRun) LoadAssignment(v uint32) (*deepercluster.Assignment, error) {
	return nil, fmt.Errorf("params run holds no version %d: %w", v, fs.ErrNotExist)
}
func (r *paramsRun) RequestRecluster(p deepercluster.RunParams) error {
	if err := p.Validate(r.ds.Len()); err != nil {
		return err
	}
	r.mu.Lock()
	r.got = append(r.got, p)
	r.mu.Unlock()
	return nil
}

// FuzzReclusterBody posts arbitrary bodies to /api/recluster: a 202 hands
// the run exactly the current parameters overlaid with the body's fields,
// and they are valid; anything else is a 4xx JSON error.
func FuzzReclusterBody(f *testing.F) {
	const n = 100
	ds := fuzzDataset(f, n)
	cur := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, ReclusterEvery: 1, PCADim: 8}
	for _, s := range []string{
		`{"k": 4}`, `{"preset":"deepcluster","m":1,"k":5}`, `{"preset":"rotnet","m":1,"k":1}`, `{"m": 1e9}`, `{"m": -1}`,
		`{"k": 3.5}`, `{"pca_dim": 0}`, `{"recluster_every": 0}`, `{}`, `[]`, `null`, `{"k":1}{"k":2}`, `{"kk":1}`,
		`{"preset":"` + strings.Repeat("x", 100) + `"}`, "\xff\xfe", `{"m":2,"k":3,"m":4}`, `{"K": 3}`,
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{"k": 2}`), "")
	f.Add([]byte(`{"k": 2}`), "text/plain")
	f.Add(bytes.Repeat([]byte(" "), 70<<10), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		run := &paramsRun{ds: ds, info: deepercluster.RunInfo{ID: "fuzz", Images: n, Params: cur}}
		s, err := New(Config{}, ds, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.SetRun(run)
		req := httptest.NewRequest(http.MethodPost, "/api/recluster", bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusAccepted:
			if len(run.got) != 1 {
				t.Fatalf("202 but the run got %d requests", len(run.got))
			}
			want := cur
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatalf("202 for a body encoding/json refuses: %q: %v", body, err)
			}
			if run.got[0] != want {
				t.Fatalf("run got %+v, the body %q over %+v says %+v", run.got[0], body, cur, want)
			}
			if err := run.got[0].Validate(n); err != nil {
				t.Fatalf("accepted invalid parameters %+v: %v", run.got[0], err)
			}
			var job Job
			if err := json.Unmarshal(rec.Body.Bytes(), &job); err != nil || job.State != "running" || job.Params != want {
				t.Fatalf("202 body %q: %v", rec.Body.Bytes(), err)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			if len(run.got) != 0 {
				t.Fatalf("status %d but the run was asked to recluster with %+v", rec.Code, run.got)
			}
			errorBody(t, rec)
			if len(body) > 64<<10 && rec.Code != http.StatusRequestEntityTooLarge && rec.Code != http.StatusUnsupportedMediaType {
				t.Fatalf("a %d-byte body got %d, want 413", len(body), rec.Code)
			}
		default:
			t.Fatalf("status %d for %q (%s): %s", rec.Code, body, ctype, rec.Body.Bytes())
		}
	})
}

// FuzzWSClientFrame sends what a hostile client might over a real
// websocket: the server answers a ping with its pong, a snapshot request
// with a snapshot, and anything else by closing with a policy violation;
// it never goes down.
func FuzzWSClientFrame(f *testing.F) {
	const n = 100
	ds := fuzzDataset(f, n)
	s, err := New(Config{}, ds, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	ts := httptest.NewServer(s.Handler())
	defer func() {
		s.CloseClients()
		ts.Close()
		cancel()
		<-done
	}()
	s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	for deadline := time.Now().Add(20 * time.Second); s.version() < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.Fatal("assignment never published")
		}
	}
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	f.Add(wire.AppendPing(nil, 42), true)
	f.Add(wire.AppendRequestSnapshot(nil, 0), true)
	f.Add(wire.AppendRequestSnapshot(nil, 1), true)
	f.Add(wire.AppendPong(nil, 1, 1, 7), true)
	f.Add(wire.AppendSnapshot(nil, deepercluster.RunInfo{ID: "x"}, assignmentFor(9, 5, 1, 2, 1, 0), nil), true)
	f.Add([]byte("hello"), false)
	f.Add([]byte{}, true)
	f.Add(make([]byte, 2000), true)
	f.Fuzz(func(t *testing.T, msg []byte, binary bool) {
		conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatalf("dial: %v (the server went down?)", err)
		}
		defer conn.Close()
		typ := websocket.BinaryMessage
		if !binary {
			typ = websocket.TextMessage
		}
		if err := conn.WriteMessage(typ, msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		fr, decErr := wire.DecodeFrame(msg)
		wantPong := binary && decErr == nil && fr.Kind == wire.KindPing && len(msg) <= maxClientMessage
		wantSnap := binary && decErr == nil && fr.Kind == wire.KindRequestSnapshot && len(msg) <= maxClientMessage
		snaps := 0
		// A bound, not a measurement: the server answers or closes at once.
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			kind, b, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if wantPong || wantSnap {
					t.Fatalf("%d-byte %s: connection ended (%v) before the answer", len(msg), fr.Kind, err)
				}
				// Anything but a ping or a snapshot request must make the
				// server close the connection, saying why.
				if !errors.As(err, &ce) {
					t.Fatalf("%d-byte %s message (binary %v): the connection was not closed with a close frame: %v", len(msg), fr.Kind, binary, err)
				}
				if ce.Code != websocket.ClosePolicyViolation && ce.Code != websocket.CloseUnsupportedData && ce.Code != websocket.CloseMessageTooBig {
					t.Fatalf("closed with %d %q", ce.Code, ce.Text)
				}
				break
			}
			if kind != websocket.BinaryMessage {
				t.Fatalf("server sent message type %d", kind)
			}
			got, err := wire.DecodeFrame(b)
			if err != nil {
				t.Fatalf("server sent a frame it cannot decode: %v", err)
			}
			if wantPong && got.Kind == wire.KindPong {
				if got.Nonce != fr.Nonce {
					t.Fatalf("pong nonce %d, ping %d", got.Nonce, fr.Nonce)
				}
				break
			}
			if got.Kind == wire.KindSnapshot {
				// The first snapshot comes on connect, the second on request.
				if snaps++; wantSnap && snaps == 2 {
					break
				}
			}
		}
		resp, err := http.Get(ts.URL + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz after the frame: %v %v", err, resp)
		}
		resp.Body.Close()
	})
}

// FuzzNoteBody puts arbitrary bodies to a cluster's note: a 200 stores
// exactly the body's fields (trimmed), within the limits, with a known
// verdict; anything else is a 4xx JSON error and stores nothing.
func FuzzNoteBody(f *testing.F) {
	const n = 60
	ds := fuzzDataset(f, n)
	for _, s := range []string{
		`{"name":"boats","verdict":"good","text":"at dusk"}`, `{"verdict":"great"}`, `{"name":3}`, `{}`, `[]`, `null`,
		`{"name":"a"}{"name":"b"}`, `{"title":"x"}`, `{"text":"a\nb"}`, `{"name":"` + strings.Repeat("é", 81) + `"}`,
		"\xff\xfe", `{"name":"  spaced  "}`, `{"name":"","verdict":"","text":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := New(Config{DataDir: t.TempDir()}, ds, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		a := assignmentFor(1, n, 2, 2, 1, 0)
		st := derive(a, nil)
		s.mu.Lock()
		s.state = st
		s.mu.Unlock()
		req := httptest.NewRequest(http.MethodPut, "/api/clusters/0/1/note", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		got, stored := s.notes.get(1)
		switch rec.Code {
		case http.StatusOK:
			var want noteBody
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatalf("200 for a body encoding/json refuses: %q: %v", body, err)
			}
			want.Name, want.Text = strings.TrimSpace(want.Name), strings.TrimSpace(want.Text)
			if want == (noteBody{}) {
				if stored {
					t.Fatalf("an empty note was stored: %+v", got)
				}
				return
			}
			if !stored || got.Name != want.Name || got.Verdict != want.Verdict || got.Text != want.Text {
				t.Fatalf("stored %+v (%v), the body %q says %+v", got, stored, body, want)
			}
			if !slices.Contains(verdicts, got.Verdict) || utf8.RuneCountInString(got.Name) > maxNoteName || utf8.RuneCountInString(got.Text) > maxNoteText {
				t.Fatalf("stored an invalid note %+v", got)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if stored {
				t.Fatalf("status %d but a note was stored: %+v", rec.Code, got)
			}
			errorBody(t, rec)
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
	})
}
