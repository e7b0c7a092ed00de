package index

import (
	"errors"
	"fmt"

	"github.com/deepercluster/deepercluster"
)

// Sentinel errors of the index itself, for errors.Is. Besides these, bad
// queries wrap deepercluster.ErrBadQuery and carry a
// *deepercluster.FieldError (errors.As) naming the query field at fault, so
// a server can answer 400 {"error", "field"}; searches before the first
// Build (or after Open started over: call Build) answer
// deepercluster.ErrNotReady.
var (
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

// badQuery builds an error that is both deepercluster.ErrBadQuery and a
// *deepercluster.FieldError for field.
func badQuery(field, format string, args ...any) error {
	return fmt.Errorf("%w: %w", deepercluster.ErrBadQuery, &deepercluster.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}
