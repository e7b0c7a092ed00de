package server

import (
	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/export"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// LoadFeatures reads the features a server kept in run directory dir
// (FeaturesFile checked against FeaturesMetaFile, or an older features.bin),
// for `deepercluster export --features` without a server. A directory with
// none answers an error that says so.
func LoadFeatures(dir string) (*deepercluster.Features, error) { return loadFeatures(dir) }

// LoadExportNotes reads the cluster notes kept in run directory dir
// (NotesFile) that belong to version v, by sub-cluster, as package export
// takes them; a directory without notes has none. Notes follow the latest
// version, so an older v gets only the notes written on it that were never
// carried forward.
func LoadExportNotes(dir string, v uint32) (map[int32]export.Note, error) {
	st, err := loadNotes(dir)
	if err != nil {
		return nil, err
	}
	out := map[int32]export.Note{}
	for z, n := range st.all() {
		if n.Version == v {
			out[z] = export.Note{Name: n.Name, Verdict: n.Verdict, Text: n.Text}
		}
	}
	return out, nil
}

// RemoveInterruptedWrites deletes, in run directory dir, the temporaries
// that a crash left of the files the server keeps there (notes, features).
// New calls it; so does `train`, which keeps the features too
// (SaveFeatures), before it writes any.
func RemoveInterruptedWrites(dir string) error {
	return atomicfile.RemoveTemps(dir, func(name string) bool {
		return name == NotesFile || name == FeaturesFile || name == FeaturesMetaFile
	})
}

// SaveFeatures writes f to run directory dir as the server does
// (FeaturesFile, then FeaturesMetaFile, each atomically), for `train`,
// which has no server, so that `export --features` finds them.
func SaveFeatures(dir string, f *deepercluster.Features) error { return saveFeatures(dir, f) }
