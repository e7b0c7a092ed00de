package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/deepercluster/deepercluster"
)

// AssignmentMagic opens every stored Assignment.
const AssignmentMagic = "DCA1"

// MarshalAssignment encodes a in the one on-disk form of an Assignment,
// used by the trainer's run directory and by the index:
//
//	"DCA1", Version, M, K = len(SubParent), N = len(Super)  (uint32 each)
//	SubParent[K], Super[N], Sub[N]                          (int32 each)
//	CRC-32 (IEEE) of everything before it                   (uint32)
//
// all little-endian. Fixed-width ids keep the format trivially seekable and
// independent of the wire format's versions; the checksum catches torn or
// corrupted files.
func MarshalAssignment(a *deepercluster.Assignment) []byte {
	k, n := len(a.SubParent), len(a.Super)
	b := make([]byte, 0, 20+4*(k+2*n)+4)
	b = append(b, AssignmentMagic...)
	b = binary.LittleEndian.AppendUint32(b, a.Version)
	b = binary.LittleEndian.AppendUint32(b, uint32(a.M))
	b = binary.LittleEndian.AppendUint32(b, uint32(k))
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for _, ids := range [][]int32{a.SubParent, a.Super, a.Sub} {
		for _, v := range ids {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// UnmarshalAssignment decodes what MarshalAssignment wrote and validates
// the result (see Assignment.Validate).
func UnmarshalAssignment(p []byte) (*deepercluster.Assignment, error) {
	if len(p) < 24 || string(p[:4]) != AssignmentMagic {
		return nil, fmt.Errorf("%w: no %s header (%d bytes)", ErrBadAssignmentData, AssignmentMagic, len(p))
	}
	body, sum := p[:len(p)-4], binary.LittleEndian.Uint32(p[len(p)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (torn or corrupted)", ErrBadAssignmentData)
	}
	u := func(off int) uint32 { return binary.LittleEndian.Uint32(body[off:]) }
	a := &deepercluster.Assignment{Version: u(4), M: int(u(8))}
	k, n := uint64(u(12)), uint64(u(16))
	if uint64(len(body)) != 20+4*(k+2*n) {
		return nil, fmt.Errorf("%w: %d bytes for %d sub-clusters and %d images", ErrBadAssignmentData, len(body), k, n)
	}
	ints := func(off, cnt int) []int32 {
		out := make([]int32, cnt)
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(body[off+4*i:]))
		}
		return out
	}
	a.SubParent = ints(20, int(k))
	a.Super = ints(20+4*int(k), int(n))
	a.Sub = ints(20+4*int(k+n), int(n))
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAssignmentData, err)
	}
	return a, nil
}
