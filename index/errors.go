package index

import (
	"errors"
	"fmt"

	"github.com/deepercluster/deepercluster"
)

// Sentinel errors, for errors.Is. Bad queries also carry a
// *deepercluster.FieldError (errors.As) naming the query field at fault, so
// a server can answer 400 {"error", "field"}.
var (
	// ErrBadQuery is wrapped by every error about the query itself.
	ErrBadQuery = errors.New("bad query")
	// ErrNotReady means no Assignment has been indexed yet (or the index is
	// being rebuilt after Open found it unusable): call Build.
	ErrNotReady = errors.New("index not ready: no assignment indexed yet")
	// ErrClosed is returned by calls on a closed Index.
	ErrClosed = errors.New("index closed")
	// ErrCorrupt is wrapped by Recovered when Open found an index directory
	// it could not read and started over.
	ErrCorrupt = errors.New("index directory corrupt")
	// ErrOldMapping is wrapped by Recovered when Open found an index built
	// with another mapping version and started over.
	ErrOldMapping = errors.New("index built with another mapping version")
	// ErrOtherDataset is wrapped by Recovered when Open found an index of
	// another dataset and started over.
	ErrOtherDataset = errors.New("index built for another dataset")
	// ErrNotIndexDir means Open was pointed at a directory holding files
	// that are not ours; it refuses to delete them.
	ErrNotIndexDir = errors.New("not an index directory")
	// ErrAssignment is wrapped when an Assignment does not fit the dataset.
	ErrAssignment = errors.New("assignment does not fit the dataset")
	// ErrUnknownCluster is returned by TopTags for an id outside the
	// indexed Assignment.
	ErrUnknownCluster = errors.New("unknown cluster")
)

// badQuery builds an error that is both ErrBadQuery and a
// *deepercluster.FieldError for field.
func badQuery(field, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrBadQuery, &deepercluster.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}
