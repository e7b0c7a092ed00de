package trainer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// HistoryFile is the name, inside a run directory, of the log of every
// training step and every reclustering's metrics: what the charts of a
// restarted server show. Each line is one record ending in its own CRC-32,
// appended as the run goes and synced before each checkpoint, so the log
// always covers the checkpoint; a line torn by a crash fails its CRC and
// is dropped, and records beyond the checkpoint (steps that a resume
// trains again) are dropped when the run resumes.
const HistoryFile = "history.log"

// Record kinds of the history log:
//
//	s <n> <epoch> <loss_super> <loss_sub> <prec_super> <prec_sub> <crc>
//	m <version> <epoch> <stability_nmi> <label_nmi> <label_ari> <label_purity> <crc>
//
// n counts the steps of the whole run (Checkpoint.TotalSteps after it).
const (
	recStep    = "s"
	recMetrics = "m"
)

// historyLog appends records to a run's history log.
type historyLog struct {
	path string
	f    *os.File
	w    *bufio.Writer
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// line ends a record with the CRC-32 of what precedes it.
func line(fields ...string) []byte {
	s := strings.Join(fields, " ")
	return []byte(s + " " + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(s))), 16) + "\n")
}

func stepRecord(n int64, epoch int, st StepStats) []byte {
	return line(recStep, strconv.FormatInt(n, 10), strconv.Itoa(epoch), fmtFloat(st.LossSuper), fmtFloat(st.LossSub),
		fmtFloat(st.PrecSuper), fmtFloat(st.PrecSub))
}

func metricsRecord(m deepercluster.Metrics) []byte {
	return line(recMetrics, strconv.FormatUint(uint64(m.Version), 10), strconv.Itoa(m.Epoch), fmtFloat(m.StabilityNMI),
		fmtFloat(m.LabelNMI), fmtFloat(m.LabelARI), fmtFloat(m.LabelPurity))
}

// parseRecord checks a line's CRC and fields; ok is false for a torn or
// corrupted line.
func parseRecord(l string) (kind string, n int64, epoch int, v [4]float64, ok bool) {
	i := strings.LastIndexByte(l, ' ')
	if i < 0 {
		return
	}
	crc, err := strconv.ParseUint(l[i+1:], 16, 32)
	if err != nil || uint32(crc) != crc32.ChecksumIEEE([]byte(l[:i])) {
		return
	}
	f := strings.Fields(l[:i])
	if len(f) != 7 || (f[0] != recStep && f[0] != recMetrics) {
		return
	}
	if n, err = strconv.ParseInt(f[1], 10, 64); err != nil || n < 0 {
		return
	}
	if epoch, err = strconv.Atoi(f[2]); err != nil {
		return
	}
	for j := range v {
		if v[j], err = strconv.ParseFloat(f[3+j], 64); err != nil {
			return
		}
	}
	return f[0], n, epoch, v, true
}

// openHistory reads the history log of dir, keeps the records that the
// checkpoint covers (ck nil: none), rewrites the log when it dropped
// anything, and opens it for appending.
func openHistory(dir string, ck *Checkpoint) (*historyLog, deepercluster.History, error) {
	path := filepath.Join(dir, HistoryFile)
	var h deepercluster.History
	var total int64
	var version uint32
	if ck != nil {
		total, version = ck.TotalSteps, ck.Version
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, h, fmt.Errorf("history %s: %w", path, err)
	}
	var kept bytes.Buffer
	dropped := 0
	for len(data) > 0 {
		l, rest, found := bytes.Cut(data, []byte{'\n'})
		data = rest
		kind, n, epoch, v, ok := parseRecord(string(l))
		switch {
		case !found || !ok:
			dropped++ // torn by a crash, or corrupted
			continue
		case kind == recStep && n <= total:
			h.AddStep(epoch, v[0], v[1], v[2], v[3])
		case kind == recMetrics && n <= int64(version):
			h.AddMetrics(deepercluster.Metrics{Version: uint32(n), Epoch: epoch, StabilityNMI: v[0], LabelNMI: v[1], LabelARI: v[2], LabelPurity: v[3]})
		default:
			dropped++ // after the checkpoint: the resumed run redoes it
			continue
		}
		kept.Write(l)
		kept.WriteByte('\n')
	}
	if dropped > 0 {
		if err := atomicfile.Write(path, kept.Bytes()); err != nil {
			return nil, h, fmt.Errorf("history %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, h, fmt.Errorf("history: %w", err)
	}
	return &historyLog{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10)}, h, nil
}

// add appends a record; it reaches the disk by sync at the latest.
func (l *historyLog) add(rec []byte) error {
	if _, err := l.w.Write(rec); err != nil {
		return fmt.Errorf("history %s: %w", l.path, err)
	}
	return nil
}

// sync makes every record added so far durable.
func (l *historyLog) sync() error {
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("history %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("history %s: %w", l.path, err)
	}
	return nil
}

func (l *historyLog) close() error {
	err := l.w.Flush()
	return errors.Join(err, l.f.Close())
}
