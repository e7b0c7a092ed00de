package dataset

import (
	"github.com/deepercluster/deepercluster"
)

// OpenPath opens the dataset on disk at path in the format it holds: a
// sharded dataset (a directory with shards.json, OpenSharded) or a dataset
// directory (OpenDir). It is the on-disk half of the name lookup that
// every command uses (package dataset/source), kept here beside the
// formats it tells apart.
func OpenPath(path string) (deepercluster.Dataset, error) {
	if IsSharded(path) {
		ds, err := OpenSharded(path)
		if err != nil {
			return nil, err
		}
		return ds, nil
	}
	ds, err := OpenDir(path)
	if err != nil {
		return nil, err
	}
	return ds, nil
}
