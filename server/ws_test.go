package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// writeFrame sends a frame of any size as one message: the pieces of a
// large one arrive whole and in order, at every size around the piece.
func TestWriteFrameWhole(t *testing.T) {
	sizes := []int{0, 1, framePiece - 1, framePiece, framePiece + 1, 5*framePiece + 7}
	frames := make([][]byte, len(sizes))
	for i, n := range sizes {
		frames[i] = make([]byte, n)
		for j := range frames[i] {
			frames[i][j] = byte(i*31 + j*7 + j/framePiece)
		}
	}
	up := websocket.Upgrader{WriteBufferSize: 64 << 10}
	errc := make(chan error, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			errc <- err
			return
		}
		defer conn.Close()
		for _, f := range frames {
			if err := writeFrame(conn, f); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}))
	defer ts.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, want := range frames {
		kind, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("frame %d (%d bytes): %v", i, len(want), err)
		}
		if kind != websocket.BinaryMessage || !bytes.Equal(got, want) {
			t.Fatalf("frame %d: kind %d, %d bytes, want a binary message of the %d bytes sent", i, kind, len(got), len(want))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
