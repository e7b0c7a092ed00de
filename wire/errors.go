package wire

import "errors"

// The errors this package's decoders wrap, one per format, so that a caller
// can tell corrupt or hostile input (errors.Is) from other failures, such
// as a file that cannot be read.
var (
	// ErrBadFrame is wrapped by every DecodeFrame error.
	ErrBadFrame = errors.New("bad frame")
	// ErrBadThumbs is wrapped by DecodeThumbBatch's errors.
	ErrBadThumbs = errors.New("bad thumbnail batch")
	// ErrBadAssignmentData is wrapped by UnmarshalAssignment's errors.
	ErrBadAssignmentData = errors.New("bad stored assignment")
)
