package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// NotesFile is the file in the run directory (Config.DataDir) that keeps
// the users' cluster notes.
const NotesFile = "notes.json"

// noteSample is how many of a noted cluster's images a note remembers: the
// contingency of those images with a new Assignment version says where the
// cluster went, even across a restart or several versions at once.
const noteSample = 2048

// shareOfNote is the least share of a note's images that a second new
// cluster must take for the note to say its cluster split; a former
// cluster must send at least this share of itself into the note's cluster
// for the note to say they merged.
const shareOfNote = 0.2

// Verdicts a note may carry ("" for none).
var verdicts = []string{"", "good", "mixed", "bad"}

// Note is what a user wrote about one sub-cluster, and where it has been
// since. It follows its cluster from version to version: to the new
// cluster holding most of the images it remembers, which is the same id
// whenever cluster.Align kept it.
type Note struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Text    string `json:"text"`
	// Sub is the sub-cluster the note is on, in Assignment Version.
	Sub     int32     `json:"sub"`
	Version uint32    `json:"version"`
	Updated time.Time `json:"updated"`
	// Lineage says, in words, how the cluster changed at the last version:
	// split (another cluster took a large part, or none kept half of its
	// images) or merged, or only renamed; empty while it stayed.
	Lineage string `json:"lineage,omitempty"`
	// Split lists the other sub-clusters (of Version) that took a large
	// part of the cluster when it split; Merged the sub-clusters of the
	// version before that largely went into it.
	Split  []int32 `json:"split,omitempty"`
	Merged []int32 `json:"merged,omitempty"`
	// Members is a sample of the cluster's images at Version.
	Members []int32 `json:"members"`
}

// noteStore holds the notes in memory and, when it has a path, on disk.
type noteStore struct {
	path string // "" keeps notes in memory only
	mu   sync.Mutex
	// bySub maps the sub-cluster id of the published version to its note.
	bySub map[int32]*Note
}

type notesFile struct {
	Format int     `json:"format"`
	Notes  []*Note `json:"notes"`
}

// loadNotes reads dir/notes.json; a missing file is no notes.
func loadNotes(dir string) (*noteStore, error) {
	s := &noteStore{bySub: map[int32]*Note{}}
	if dir == "" {
		return s, nil
	}
	s.path = filepath.Join(dir, NotesFile)
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	var f notesFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("notes: %s: %w", s.path, err)
	}
	if f.Format != 1 {
		return nil, fmt.Errorf("notes: %s: format %d, this build reads 1", s.path, f.Format)
	}
	for _, n := range f.Notes {
		if n != nil {
			s.bySub[n.Sub] = n
		}
	}
	return s, nil
}

// saveLocked writes every note atomically; s.mu is held.
func (s *noteStore) saveLocked() error {
	if s.path == "" {
		return nil
	}
	f := notesFile{Format: 1, Notes: make([]*Note, 0, len(s.bySub))}
	for _, n := range s.bySub {
		f.Notes = append(f.Notes, n)
	}
	slices.SortFunc(f.Notes, func(a, b *Note) int { return int(a.Sub - b.Sub) })
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return fmt.Errorf("notes: %w", err)
	}
	if err := atomicfile.Write(s.path, b); err != nil {
		return fmt.Errorf("notes: %w", err)
	}
	return nil
}

// get returns a copy of the note on sub-cluster z.
func (s *noteStore) get(z int32) (Note, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.bySub[z]
	if !ok {
		return Note{}, false
	}
	return *n, true
}

// all returns copies of every note by sub-cluster.
func (s *noteStore) all() map[int32]Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int32]Note, len(s.bySub))
	for z, n := range s.bySub {
		out[z] = *n
	}
	return out
}

// put writes the note on sub-cluster z of st's version (members from st);
// an empty name, verdict and text removes it. It returns the stored note.
func (s *noteStore) put(st *published, z int32, name, verdict, text string) (Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.bySub[z]
	if name == "" && verdict == "" && text == "" {
		delete(s.bySub, z)
		if err := s.saveLocked(); err != nil {
			if had {
				s.bySub[z] = old
			}
			return Note{}, err
		}
		return Note{Sub: z, Version: st.a.Version}, nil
	}
	n := &Note{Name: name, Verdict: verdict, Text: text, Sub: z, Version: st.a.Version,
		Updated: time.Now().UTC(), Members: sample(st.members[z], noteSample)}
	if had {
		// The history stays with the cluster.
		n.Lineage, n.Split, n.Merged = old.Lineage, old.Split, old.Merged
	}
	s.bySub[z] = n
	if err := s.saveLocked(); err != nil {
		if had {
			s.bySub[z] = old
		} else {
			delete(s.bySub, z)
		}
		return Note{}, err
	}
	return *n, nil
}

// sample takes at most k ids spread evenly over ids.
func sample(ids []int32, k int) []int32 {
	if len(ids) <= k {
		return slices.Clone(ids)
	}
	out := make([]int32, k)
	for i := range out {
		out[i] = ids[i*len(ids)/k]
	}
	return out
}

// follow moves every note to the sub-cluster of st (a new version) that
// holds most of the images it remembers, and says where its cluster split
// (a second new cluster took at least shareOfNote of them, or none kept
// half of them) or merged (a
// former cluster of prev, the version before st when known, sent at least
// shareOfNote of its images into the note's new cluster). Two notes that
// land on one cluster merge: the one with more of its images there keeps
// its name, and the lineage names the other.
func (s *noteStore) follow(prev, st *published) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bySub) == 0 {
		return nil
	}
	a := st.a
	var prevSizes []int
	var contingency map[[2]int32]int // (old sub, new sub) -> images
	if prev != nil && prev.a.Version < a.Version && len(prev.a.Sub) == len(a.Sub) {
		_, prevSizes = prev.a.Sizes()
		contingency = map[[2]int32]int{}
		for i, z := range a.Sub {
			contingency[[2]int32{prev.a.Sub[i], z}]++
		}
	}
	type placed struct {
		n     *Note
		share float64
	}
	homes := map[int32]placed{}
	moved := false
	for _, n := range s.bySub {
		if n.Version >= a.Version {
			homes[n.Sub] = placed{n, 1}
			continue
		}
		moved = true
		counts := map[int32]int{}
		valid := 0
		for _, id := range n.Members {
			if id >= 0 && int(id) < len(a.Sub) {
				counts[a.Sub[id]]++
				valid++
			}
		}
		if valid == 0 {
			continue // nothing left to follow: the note goes
		}
		home, best := n.Sub, -1
		for z, c := range counts {
			better := c > best
			if c == best {
				// Ties: the note's own id (Align kept it), else the lowest.
				better = z == n.Sub || home != n.Sub && z < home
			}
			if better {
				home, best = z, c
			}
		}
		from := n.Sub
		var split []int32
		for z, c := range counts {
			if z != home && float64(c) >= shareOfNote*float64(valid) {
				split = append(split, z)
			}
		}
		slices.Sort(split)
		var merged []int32
		if contingency != nil && prev.a.Version == n.Version {
			for k, c := range contingency {
				if k[1] == home && k[0] != from && float64(c) >= shareOfNote*float64(prevSizes[k[0]]) {
					merged = append(merged, k[0])
				}
			}
			slices.Sort(merged)
		}
		nn := *n
		nn.Split, nn.Merged = split, merged
		// Scattered: no single cluster kept most of its images.
		scattered := 2*best < valid
		stayed := 100 * best / valid
		switch {
		case (len(split) > 0 || scattered) && len(merged) > 0:
			nn.Lineage = fmt.Sprintf("version %d: split (%d%% of its images are here%s) and merged with former sub-clusters %s",
				a.Version, stayed, splitWhere(split, len(counts)-1), ids(merged))
		case len(split) > 0 || scattered:
			nn.Lineage = fmt.Sprintf("version %d: split; %d%% of its images are here%s", a.Version, stayed, splitWhere(split, len(counts)-1))
		case len(merged) > 0:
			nn.Lineage = fmt.Sprintf("version %d: merged with former sub-clusters %s", a.Version, ids(merged))
		}
		if from != home && nn.Lineage == "" {
			nn.Lineage = fmt.Sprintf("version %d: now sub-cluster %d (was %d)", a.Version, home, from)
		}
		nn.Sub, nn.Version = home, a.Version
		nn.Members = sample(st.members[home], noteSample)
		share := float64(best) / float64(valid)
		if other, ok := homes[home]; ok {
			win, lose := &nn, other.n
			if other.share > share {
				win, lose = other.n, &nn
			}
			w := *win
			w.Lineage = fmt.Sprintf("version %d: merged with the cluster noted %q", a.Version, lose.Name)
			if lose.Text != "" {
				w.Text = w.Text + " | " + lose.Name + ": " + lose.Text
			}
			homes[home] = placed{&w, max(share, other.share)}
			continue
		}
		homes[home] = placed{&nn, share}
	}
	if !moved {
		return nil
	}
	s.bySub = make(map[int32]*Note, len(homes))
	for z, p := range homes {
		s.bySub[z] = p.n
	}
	return s.saveLocked()
}

// splitWhere says where the rest of a split cluster's images went.
func splitWhere(split []int32, others int) string {
	if len(split) > 0 {
		return ", large parts went to sub-clusters " + ids(split)
	}
	return fmt.Sprintf(", the rest spread over %d sub-clusters", others)
}

func ids(z []int32) string {
	s := ""
	for i, v := range z {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(v)
	}
	return s
}

// noteJSON is a note as the API shows it (without the image sample).
type noteJSON struct {
	// Super is set where the answer lists notes on their own.
	Super   *int32    `json:"super,omitempty"`
	Name    string    `json:"name"`
	Verdict string    `json:"verdict"`
	Text    string    `json:"text"`
	Sub     int32     `json:"sub"`
	Version uint32    `json:"version"`
	Updated time.Time `json:"updated"`
	Lineage string    `json:"lineage,omitempty"`
	Split   []int32   `json:"split,omitempty"`
	Merged  []int32   `json:"merged,omitempty"`
}

func toNoteJSON(n Note) *noteJSON {
	return &noteJSON{Name: n.Name, Verdict: n.Verdict, Text: n.Text, Sub: n.Sub, Version: n.Version, Updated: n.Updated,
		Lineage: n.Lineage, Split: n.Split, Merged: n.Merged}
}
