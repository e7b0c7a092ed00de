// Command wsprobe measures how long a freshly started `deepercluster serve`
// takes to deliver its first Assignment to a websocket client: it dials
// until the server answers, then reads frames until one carries an
// Assignment, and prints the milliseconds since -since (Unix nanoseconds,
// the moment serve was started). scripts/bench-ws.sh uses it.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/deepercluster/deepercluster/wire"
	"github.com/gorilla/websocket"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "websocket URL")
	since := flag.Int64("since", time.Now().UnixNano(), "start time, Unix nanoseconds")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	start := time.Unix(0, *since)
	deadline := time.Now().Add(*timeout)
	var conn *websocket.Conn
	for {
		c, _, err := websocket.DefaultDialer.Dial(*url, nil)
		if err == nil {
			conn = c
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "wsprobe: dial:", err)
			os.Exit(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer conn.Close()
	connected := time.Since(start)
	conn.SetReadDeadline(deadline)
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			fmt.Fprintln(os.Stderr, "wsprobe: read:", err)
			os.Exit(1)
		}
		f, err := wire.DecodeFrame(msg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wsprobe:", err)
			os.Exit(1)
		}
		if f.Kind == wire.KindSnapshot {
			fmt.Printf("%d %d %d %d\n", time.Since(start).Milliseconds(), connected.Milliseconds(), f.Version, len(f.Assignment.Super))
			return
		}
	}
}
