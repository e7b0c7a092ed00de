package dataset

// MaxProblems is how many bad-input problems are kept in full; the rest
// are only counted.
const MaxProblems = 20

// Problems collects bad input while reading goes on: a count and the
// first MaxProblems errors in full.
type Problems struct {
	Count int
	First []error
}

// Add counts one problem and keeps it if it is among the first.
func (p *Problems) Add(err error) {
	p.Count++
	if len(p.First) < MaxProblems {
		p.First = append(p.First, err)
	}
}
