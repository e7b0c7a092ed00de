package server

import (
	"bytes"
	"testing"
)

// TestHubFirstHistoryReachesConnectedClients: a client that subscribed
// before the run's history existed (the server's loop had not started)
// gets the first history frame; later ones go only to new clients, which
// get the latest after the base.
func TestHubFirstHistoryReachesConnectedClients(t *testing.T) {
	h := NewHub(64, 1<<20)
	early := h.subscribe()
	if len(early.queue) != 0 {
		t.Fatalf("a client of an empty hub starts with %d frames", len(early.queue))
	}
	first, second := []byte("history-1"), []byte("history-2")
	h.SetHistory(first)
	if len(early.queue) != 1 || !bytes.Equal(early.queue[0], first) {
		t.Fatalf("the early client's queue after the first history: %q", early.queue)
	}
	h.SetHistory(second)
	if len(early.queue) != 1 {
		t.Fatalf("a later history was sent to a connected client too: %q", early.queue)
	}
	late := h.subscribe()
	if len(late.queue) != 1 || !bytes.Equal(late.queue[0], second) {
		t.Fatalf("a new client starts with %q, want the latest history", late.queue)
	}
}
