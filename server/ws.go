package server

import (
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster/wire"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
)

// maxClientMessage is the read limit of a websocket: clients only send
// small control frames (ping, request snapshot).
const maxClientMessage = 1024

// checkOrigin accepts requests without an Origin (non-browser clients),
// the server's own origin, and the configured ones.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.cfg.AllowOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

func (s *Server) serveWS(c echo.Context) error {
	if !s.checkOrigin(c.Request()) {
		return fail(http.StatusForbidden, "origin", "origin %q is not allowed: start the server with --allow-origin to accept it", c.Request().Header.Get("Origin"))
	}
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 64 << 10,
		CheckOrigin:     func(*http.Request) bool { return true }, // checked above, with a clear answer
	}
	conn, err := up.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		return nil // the upgrader already answered with an error status
	}
	s.handleConn(conn)
	return nil
}

// handleConn runs one websocket client until it goes away or the server
// shuts down: a writer draining the client's hub queue and a reader for
// pings and snapshot requests.
func (s *Server) handleConn(conn *websocket.Conn) {
	cl := s.hub.subscribe()
	defer s.hub.unsubscribe(cl)
	s.mu.Lock()
	s.conns[conn] = struct{}{}
	closing := s.closing
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		conn.Close()
	}()
	if closing {
		return
	}

	done := make(chan struct{})
	conn.SetReadLimit(maxClientMessage)
	wait := 2 * s.cfg.PingEvery
	conn.SetReadDeadline(time.Now().Add(wait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wait)) })
	go func() {
		defer close(done)
		for {
			kind, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			conn.SetReadDeadline(time.Now().Add(wait))
			if kind != websocket.BinaryMessage {
				s.closeWith(conn, websocket.CloseUnsupportedData, "binary frames only")
				return
			}
			f, err := wire.DecodeFrame(msg)
			if err != nil {
				s.closeWith(conn, websocket.ClosePolicyViolation, err.Error())
				return
			}
			switch f.Kind {
			case wire.KindPing:
				cur := s.info()
				s.hub.push(cl, wire.AppendPong(nil, wire.RunHash(cur.ID), s.version(), f.Nonce))
			case wire.KindRequestSnapshot:
				s.hub.requestResync(cl)
			default:
				s.closeWith(conn, websocket.ClosePolicyViolation, "unexpected "+f.Kind.String()+" frame from a client")
				return
			}
		}
	}()

	ping := time.NewTicker(s.cfg.PingEvery)
	defer ping.Stop()
	for {
		select {
		case <-done:
			return
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteTimeout)); err != nil {
				return
			}
		case <-cl.notify:
			frames, _ := s.hub.next(cl)
			for _, b := range frames {
				conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
				if err := writeFrame(conn, b); err != nil {
					return
				}
				kind := "unknown"
				if len(b) >= wire.HeaderSize {
					kind = wire.FrameKind(b[3]).String()
				}
				s.met.wsFrames.WithLabelValues(kind).Inc()
				s.met.wsBytes.Add(float64(len(b)))
			}
		}
	}
}

func (s *Server) closeWith(conn *websocket.Conn, code int, reason string) {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// CloseClients says goodbye to every websocket client (server going down)
// and refuses new ones.
func (s *Server) CloseClients() {
	s.mu.Lock()
	s.closing = true
	conns := slices.Collect(func(yield func(*websocket.Conn) bool) {
		for c := range s.conns {
			if !yield(c) {
				return
			}
		}
	})
	s.mu.Unlock()
	for _, c := range conns {
		s.closeWith(c, websocket.CloseGoingAway, "server shutting down")
		c.Close()
	}
}

// framePiece is how much of a frame writeFrame sends before it lets other
// goroutines run.
const framePiece = 64 << 10

// writeFrame sends b as one binary message. A frame larger than
// framePiece (a map of 100,000 points is 400 KB) goes out in pieces, as
// websocket fragments of one message, with a runtime.Gosched after each:
// a broadcast wakes every client's writer at once, and unbroken copies of
// the whole frame to 200 sockets (tens of milliseconds) would queue a
// search request's goroutine behind all of them; in pieces, it waits for
// one piece per writer at most.
func writeFrame(conn *websocket.Conn, b []byte) error {
	if len(b) <= framePiece {
		return conn.WriteMessage(websocket.BinaryMessage, b)
	}
	w, err := conn.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	for len(b) > 0 {
		n := min(len(b), framePiece)
		if _, err := w.Write(b[:n]); err != nil {
			w.Close()
			return err
		}
		b = b[n:]
		runtime.Gosched()
	}
	return w.Close()
}
