package server

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/deepercluster/deepercluster/internal/par"
)

// lendP lends the request a P of its own (par.RequestStarted) while it is
// handled, in a process that reserved one (`serve`), so that it does not
// wait for the Go scheduler to preempt a training kernel. A websocket stays
// open for the whole visit and would keep the P lent for good: its frames
// are sent by the hub, which can wait.
//
// It also says how long the handler took, in a Server-Timing header
// ("app;dur=" milliseconds, the W3C header browsers' developer tools
// show): a client that sees a slow answer can tell the server's own time
// from the time the request spent on the way and in queues
// (`make bench-load` reports both).
func lendP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == "/ws" {
			return next(c)
		}
		par.RequestStarted()
		defer par.RequestDone()
		start := time.Now()
		res := c.Response()
		res.Before(func() {
			res.Header().Set("Server-Timing", serverTiming(time.Since(start)))
		})
		return next(c)
	}
}

// serverTiming is a Server-Timing header value for a handler that took d.
func serverTiming(d time.Duration) string {
	return "app;dur=" + strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}

func (s *Server) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		code := c.Response().Status
		if err != nil {
			var ae *apiError
			var he *echo.HTTPError
			switch {
			case errors.As(err, &ae):
				code = ae.Status
			case errors.As(err, &he):
				code = he.Code
			default:
				code = http.StatusInternalServerError
			}
		}
		route := c.Path()
		if strings.HasPrefix(route, "/api/") || route == "/ws" || route == "/healthz" || route == "/metrics" {
		} else {
			route = "static"
		}
		s.met.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		return err
	}
}

// limitBody refuses request bodies over limit bytes: early by
// Content-Length, and while reading for chunked bodies. Each route is
// registered with its limit (Handler): Config.MaxBody for all but the
// routes that take large bodies.
func limitBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return fail(http.StatusRequestEntityTooLarge, "", "request body of %d bytes, over the limit of %d", r.ContentLength, limit)
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			return next(c)
		}
	}
}

// checkHost refuses requests that name a host other than loopback while
// the server listens on loopback only: a page whose own name was made to
// resolve to 127.0.0.1 (DNS rebinding) would otherwise be same-origin with
// the server and could read it and steer it.
func (s *Server) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	guard := s.cfg.Addr != "" && isLoopback(s.cfg.Addr)
	return func(c echo.Context) error {
		if h := c.Request().Host; guard && h != "" && !isLoopback(h) {
			return fail(http.StatusForbidden, "host", "host %q is not loopback, and this server listens on loopback only: open it as localhost or 127.0.0.1", h)
		}
		return next(c)
	}
}

// requireToken guards the mutating endpoints and /ws: it checks the token
// when one is configured (browsers cannot set headers on a websocket, so
// the query parameter "token" is accepted too), and refuses a foreign
// Origin even without a token, since any page the user visits can make the
// browser POST to a loopback server.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.Token == "" {
			if !s.checkOrigin(c.Request()) {
				return fail(http.StatusForbidden, "origin", "origin %q is not allowed: start the server with --allow-origin to accept it", c.Request().Header.Get("Origin"))
			}
			return next(c)
		}
		got := c.QueryParam("token")
		if h := c.Request().Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			got = strings.TrimPrefix(h, "Bearer ")
		} else if h := c.Request().Header.Get("X-Token"); h != "" {
			got = h
		}
		if got == "" {
			return fail(http.StatusUnauthorized, "token", "this server requires a token: send Authorization: Bearer <token> or ?token=<token>")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) != 1 {
			return fail(http.StatusForbidden, "token", "wrong token")
		}
		if !s.checkOrigin(c.Request()) {
			return fail(http.StatusForbidden, "origin", "origin %q is not allowed: start the server with --allow-origin to accept it", c.Request().Header.Get("Origin"))
		}
		return next(c)
	}
}
