package yfcc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/deepercluster/deepercluster/dataset"
)

// Stats is what a whole read of a metadata file saw.
type Stats struct {
	// Lines is the number of lines read, blank and bad ones included.
	Lines int
	// Bad counts the lines skipped, the first MaxProblems as *LineError.
	Bad dataset.Problems
}

// Batches of lines go to the parsing workers; a batch is small enough that
// a few in flight per worker keep memory bounded (a few MB), and large
// enough that channel traffic is negligible next to parsing.
const (
	batchLines = 4096
	batchBytes = 2 << 20
)

type lineSlot struct {
	line int
	rec  Record
	err  error // parse error (or over-long line), nil when rec is good
	skip bool  // blank line
}

type lineBatch struct {
	data  []byte
	ends  []int   // end offset in data of each line
	offs  []int64 // input offset just past each line
	first int     // line number of the first line
	long  map[int]error
	slots []lineSlot
	done  chan struct{}
}

// Read reads a whole metadata file, parsing lines on several cores
// (workers; 0 means one per CPU), and calls fn with every good record in
// file order, from the calling goroutine. Bad lines are counted and
// skipped as with Reader. Memory stays bounded: only a few batches of
// lines are in flight. It stops at the first error of fn, of the input,
// or of ctx.
func Read(ctx context.Context, r io.Reader, name string, workers int, fn func(Record) error) (Stats, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *lineBatch, workers)
	order := make(chan *lineBatch, 2*workers+1)
	var stats Stats
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(work)
		defer close(order)
		readErr = splitLines(ctx, r, name, &stats.Lines, func(b *lineBatch) bool {
			select {
			case order <- b:
			case <-ctx.Done():
				return false
			}
			work <- b // a worker always takes it: workers only stop when work closes
			return true
		})
	})
	for range workers {
		wg.Go(func() {
			for b := range work {
				parseBatch(b)
				close(b.done)
			}
		})
	}
	var fnErr error
	for b := range order {
		<-b.done
		if fnErr != nil || ctx.Err() != nil {
			continue // drain so the reader and workers can finish
		}
		for i := range b.slots {
			s := &b.slots[i]
			switch {
			case s.skip:
			case s.err != nil:
				le := &LineError{File: name, Line: s.line, Err: s.err}
				var fe *fieldError
				if errors.As(s.err, &fe) {
					le.Field, le.Err = fe.field, fe.err
				}
				stats.Bad.Add(le)
			default:
				if err := fn(s.rec); err != nil {
					fnErr = err
					cancel()
				}
			}
			if fnErr != nil {
				break
			}
		}
		clear(b.slots)
		slotsPool.Put(b.slots[:cap(b.slots)])
		b.slots = nil
	}
	wg.Wait()
	switch {
	case fnErr != nil:
		return stats, fnErr
	case readErr != nil:
		return stats, readErr
	}
	if err := parent.Err(); err != nil {
		return stats, fmt.Errorf("read %s: %w", name, err)
	}
	return stats, nil
}

// splitLines cuts the input into batches of whole lines, each line at most
// MaxLine bytes (longer ones become an error slot, their bytes skipped).
func splitLines(ctx context.Context, r io.Reader, name string, lines *int, emit func(*lineBatch) bool) error {
	br := bufio.NewReaderSize(r, MaxLine+1)
	newBatch := func() *lineBatch {
		return &lineBatch{data: getBytes(), first: *lines + 1, done: make(chan struct{})}
	}
	b := newBatch()
	flush := func() bool {
		if len(b.ends) == 0 {
			return true
		}
		ok := emit(b)
		b = newBatch()
		return ok
	}
	var consumed int64
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			size := len(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				size += len(line)
			}
			*lines++
			if b.long == nil {
				b.long = map[int]error{}
			}
			b.long[len(b.ends)] = fmt.Errorf("%w: over %d bytes (%d)", ErrLineTooLong, MaxLine, size)
			consumed += int64(size)
			b.ends = append(b.ends, len(b.data))
			b.offs = append(b.offs, consumed)
		} else if len(line) > 0 {
			*lines++
			if len(b.data)+len(line) > cap(b.data) && !flush() {
				return nil
			}
			b.data = append(b.data, line...)
			consumed += int64(len(line))
			b.ends = append(b.ends, len(b.data))
			b.offs = append(b.offs, consumed)
		}
		if err == io.EOF {
			flush()
			return nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			flush()
			return fmt.Errorf("read %s line %d: %w", name, *lines+1, err)
		}
		if len(b.ends) >= batchLines && !flush() {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Batch buffers are recycled: a fresh 512 KB buffer and 512 slots per
// batch would cost more in allocation and GC than parsing.
var (
	bytesPool = sync.Pool{New: func() any { return make([]byte, 0, batchBytes) }}
	slotsPool = sync.Pool{New: func() any { return make([]lineSlot, batchLines) }}
)

func getBytes() []byte { return bytesPool.Get().([]byte)[:0] }

func parseBatch(b *lineBatch) {
	b.slots = slotsPool.Get().([]lineSlot)[:len(b.ends)]
	start := 0
	for i, end := range b.ends {
		s := &b.slots[i]
		s.line = b.first + i
		line := b.data[start:end]
		start = end
		if err, ok := b.long[i]; ok {
			s.err = err
			continue
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			s.skip = true
			continue
		}
		rec, err := ParseLine(line)
		if err != nil {
			s.err = err
			continue
		}
		rec.Line, rec.End = s.line, b.offs[i]
		s.rec = rec
	}
	bytesPool.Put(b.data[:0])
	b.data, b.ends, b.offs = nil, nil, nil
}
