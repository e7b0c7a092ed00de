package deepercluster

import "errors"

// Every error value and type the domain shares between the trainer, the
// index, the server and the client, in one place so that a caller sees at
// a glance what it may test for with errors.Is and errors.As.

var (
	// ErrInvalidAssignment is wrapped by Assignment.Validate's and
	// Delta.Apply's errors.
	ErrInvalidAssignment = errors.New("invalid assignment")

	// ErrReclusterPending is returned when a reclustering is asked for
	// while an earlier request has not been applied yet: the server
	// answers 409.
	ErrReclusterPending = errors.New("a reclustering is already pending")

	// ErrTrainingEnded is returned when a reclustering is asked for after
	// the run's training has ended: nothing would ever apply it, so the
	// server answers 409 with this reason instead of accepting a job that
	// never runs.
	ErrTrainingEnded = errors.New("training has ended: a reclustering runs only while the run trains (restart with more --epochs)")
)

// Errors an index answers with, for errors.Is. Bad queries also carry a
// *FieldError (errors.As) naming the query field at fault, so a server can
// answer 400 {"error", "field"}.
var (
	// ErrBadQuery is wrapped by every error about the query itself.
	ErrBadQuery = errors.New("bad query")
	// ErrNotReady means no Assignment has been indexed yet (or the index is
	// being rebuilt after it was found unusable).
	ErrNotReady = errors.New("index not ready: no assignment indexed yet")
)

// FieldError is a bad value in a named input field; servers turn it into
// {"error": ..., "field": ...}.
type FieldError struct {
	Field string
	Msg   string
}

// Error names the field first, so a log line says which input was bad.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }
