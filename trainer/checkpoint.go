package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
	"github.com/deepercluster/deepercluster/wire"
)

// File layout of the checkpoint (and of assignments written before they took
// the stored form of wire.MarshalAssignment): an 8-byte magic, a
// uint32 format version, a uint64 payload length, a uint32 CRC-32 (IEEE) of
// the payload, then the gob-encoded payload. The checksum catches torn or
// corrupted files; the version lets the layout grow.
const (
	checkpointMagic = "DCCKPT\x00\x01"
	// legacyAssignmentMagic framed gob-encoded assignments before they
	// were stored as wire.MarshalAssignment writes them.
	legacyAssignmentMagic = "DCASGN\x00\x01"
	fileFormat            = 1
	headerLen             = 8 + 4 + 8 + 4

	// CheckpointFile is the name of the checkpoint inside a run directory.
	CheckpointFile = "checkpoint.bin"
	// AssignmentDir holds one file per Assignment version.
	AssignmentDir = "assignments"
)

// ErrNoCheckpoint is returned when a run directory has no checkpoint yet.
var ErrNoCheckpoint = errors.New("no checkpoint")

// AssignmentPath is where version v of a run's Assignment is stored.
func AssignmentPath(dir string, v uint32) string {
	return filepath.Join(dir, AssignmentDir, fmt.Sprintf("v%06d.bin", v))
}

// TensorRecord is one named tensor in a checkpoint.
type TensorRecord struct {
	Name  string
	Shape []int
	Data  []float32
}

// Checkpoint is everything needed to continue a run where it stopped.
type Checkpoint struct {
	Model  ModelConfig
	Params deepercluster.RunParams
	Seed   uint64
	// Epoch and Step say where training stands: the next step to run is
	// Step of Epoch (0-based). ClusteredEpoch is when the current
	// assignment was made.
	Epoch, Step, ClusteredEpoch int
	// Version is the current Assignment version (stored in its own file).
	Version uint32
	// HeadS and HeadK size the classifier heads.
	HeadS, HeadK int
	// RNG is the marshalled state of the augmentation/rotation generator.
	RNG []byte
	// Tensors: weights, BN running statistics, heads and momentum buffers,
	// named as State says.
	Tensors []TensorRecord
	// LR is the learning rate in use.
	LR float64
	// LRSchedule, BaseLR and ScheduleEpochs are the learning-rate
	// schedule (Config.LRSchedule from Config.LR over that many epochs);
	// with Epoch and Step they say where on it the run stands, so a
	// resume goes on along the same curve. Empty in checkpoints written
	// before they were stored.
	LRSchedule     string
	BaseLR         float64
	ScheduleEpochs int
	// TotalSteps counts the steps trained in the whole run: the history
	// log's records up to it are what this checkpoint covers.
	TotalSteps int64
}

// removeStaleTemps deletes the temporary files of atomic writes of the
// checkpoint and the assignments that a crash interrupted. Only the process
// that trains in dir may call it, before it writes anything.
func removeStaleTemps(dir string) error {
	if err := atomicfile.RemoveTemps(dir, func(name string) bool { return name == CheckpointFile || name == HistoryFile }); err != nil {
		return err
	}
	return atomicfile.RemoveTemps(filepath.Join(dir, AssignmentDir), func(name string) bool { return strings.HasPrefix(name, "v") })
}

// encodeFile frames a gob payload with magic, version, length and CRC.
func encodeFile(magic string, v any) ([]byte, error) {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(v); err != nil {
		return nil, err
	}
	out := make([]byte, headerLen, headerLen+payload.Len())
	copy(out, magic)
	binary.LittleEndian.PutUint32(out[8:], fileFormat)
	binary.LittleEndian.PutUint64(out[12:], uint64(payload.Len()))
	binary.LittleEndian.PutUint32(out[20:], crc32.ChecksumIEEE(payload.Bytes()))
	return append(out, payload.Bytes()...), nil
}

// decodeFile checks the frame of a file written by encodeFile and decodes
// its payload into v.
func decodeFile(path, magic string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return decodeFrame(path, data, magic, v)
}

// decodeFrame is decodeFile on bytes already read from path.
func decodeFrame(path string, data []byte, magic string, v any) error {
	if len(data) < headerLen || string(data[:8]) != magic {
		return fmt.Errorf("%s: not a %q file (bad magic)", path, magic[:6])
	}
	if f := binary.LittleEndian.Uint32(data[8:]); f != fileFormat {
		return fmt.Errorf("%s: format version %d, this program reads %d", path, f, fileFormat)
	}
	n := binary.LittleEndian.Uint64(data[12:])
	if n != uint64(len(data)-headerLen) {
		return fmt.Errorf("%s: payload is %d bytes, header says %d (truncated?)", path, len(data)-headerLen, n)
	}
	payload := data[headerLen:]
	if crc32.ChecksumIEEE(payload) != binary.LittleEndian.Uint32(data[20:]) {
		return fmt.Errorf("%s: checksum mismatch (corrupted file)", path)
	}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(v); err != nil {
		return fmt.Errorf("%s: decode: %w", path, err)
	}
	return nil
}

// SaveCheckpoint writes c atomically into dir.
func SaveCheckpoint(dir string, c *Checkpoint) error {
	data, err := encodeFile(checkpointMagic, c)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	path := filepath.Join(dir, CheckpointFile)
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	return nil
}

// LoadCheckpoint reads the checkpoint of a run directory; it wraps
// ErrNoCheckpoint when there is none.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	path := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoCheckpoint)
	}
	c := &Checkpoint{}
	if err := decodeFile(path, checkpointMagic, c); err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	return c, nil
}

// SaveAssignment writes one Assignment version atomically, in the one
// stored form of an Assignment (wire.MarshalAssignment).
func SaveAssignment(dir string, a *deepercluster.Assignment) error {
	path := AssignmentPath(dir, a.Version)
	if err := atomicfile.Write(path, wire.MarshalAssignment(a)); err != nil {
		return fmt.Errorf("save assignment %s: %w", path, err)
	}
	return nil
}

// LoadAssignment reads and validates version v of a run's Assignment. Run
// directories written before the one stored form hold a gob payload in the
// checkpoint's frame (magic "DCASGN"); those still load.
func LoadAssignment(dir string, v uint32) (*deepercluster.Assignment, error) {
	path := AssignmentPath(dir, v)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load assignment: %w", err)
	}
	var a *deepercluster.Assignment
	if bytes.HasPrefix(data, []byte(legacyAssignmentMagic)) {
		a = &deepercluster.Assignment{}
		if err := decodeFrame(path, data, legacyAssignmentMagic, a); err != nil {
			return nil, fmt.Errorf("load assignment: %w", err)
		}
	} else if a, err = wire.UnmarshalAssignment(data); err != nil {
		return nil, fmt.Errorf("load assignment %s: %w", path, err)
	}
	if a.Version != v {
		return nil, fmt.Errorf("load assignment: %s holds version %d", path, a.Version)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("load assignment %s: %w", path, err)
	}
	return a, nil
}

// State is the model state the checkpoint holds, for Backend.LoadState.
func (c *Checkpoint) State() *State {
	return &State{HeadS: c.HeadS, HeadK: c.HeadK, Tensors: c.Tensors}
}

// LoadOptions says how LoadBackend rebuilds a run's network. The zero
// value is the trained network on the CPU backend.
type LoadOptions struct {
	// RandomInit gives the weights the run started from (same model, same
	// seed), untrained: the baseline of the linear probe. Its backend gets
	// a real training batch (BNBatch), since ReestimateBN runs
	// training-mode passes on it.
	RandomInit bool
	// NewBackend makes the model; nil means NewCPUBackend.
	NewBackend NewBackendFunc
}

// LoadBackend rebuilds the network of the run in dir from its checkpoint,
// for evaluation and extraction (eval, the pipeline), as opt says. The
// heads are not loaded: those uses only extract features. It also returns
// the checkpoint, for the model, seed and epoch it records.
func LoadBackend(dir string, opt LoadOptions) (Backend, *Checkpoint, error) {
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		return nil, nil, err
	}
	newBackend := opt.NewBackend
	if newBackend == nil {
		newBackend = NewCPUBackend
	}
	// The smallest batch BatchNorm allows: a trained network only
	// extracts.
	batch := 2
	if opt.RandomInit {
		batch = BNBatch
	}
	model, err := newBackend(BackendConfig{Model: ck.Model, Batch: batch, Seed: ck.Seed})
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if !opt.RandomInit {
		trunkOnly := ck.State()
		trunkOnly.HeadS, trunkOnly.HeadK = 0, 0
		if err := model.LoadState(trunkOnly); err != nil {
			model.Close()
			return nil, nil, fmt.Errorf("checkpoint %s: %w", filepath.Join(dir, CheckpointFile), err)
		}
	}
	return model, ck, nil
}
