package dataset

// InOrder hands the results that parallel decoders send on results to
// emit in sequence order (seq numbers them 0, 1, 2, ... as the work was
// handed out), however they arrive. After emit fails it stops emitting but
// keeps reading until results is closed, so no decoder blocks on a send,
// and returns that first error. progress, when not nil, is told how many
// results were emitted, every 16.
//
// Both ingests (YFCC records and folders of photos) write their cache in
// input order through it, so a dataset's image ids do not depend on which
// decoder finished first.
func InOrder[T any](results <-chan T, seq func(T) int, emit func(T) error, progress func(done int)) error {
	pending := map[int]T{}
	next, lastProgress := 0, 0
	var err error
	for r := range results {
		if err != nil {
			continue // drain
		}
		pending[seq(r)] = r
		for err == nil {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			err = emit(r)
		}
		if progress != nil && next-lastProgress >= 16 {
			lastProgress = next
			progress(next)
		}
	}
	return err
}
