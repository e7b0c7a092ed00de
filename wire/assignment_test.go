package wire

import (
	"errors"
	"reflect"
	"testing"

	"github.com/deepercluster/deepercluster"
)

func TestAssignmentCodecRoundTrip(t *testing.T) {
	a := &deepercluster.Assignment{Version: 7, M: 2, SubParent: []int32{0, 0, 1}, Super: []int32{0, 1, 0, 1}, Sub: []int32{1, 2, 0, 2}}
	got, err := UnmarshalAssignment(MarshalAssignment(a))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("round trip: got %+v, want %+v", got, a)
	}
}

func TestAssignmentCodecRejects(t *testing.T) {
	good := MarshalAssignment(&deepercluster.Assignment{Version: 1, M: 1, SubParent: []int32{0}, Super: []int32{0, 0}, Sub: []int32{0, 0}})
	flip := append([]byte(nil), good...)
	flip[22] ^= 1
	invalid := MarshalAssignment(&deepercluster.Assignment{Version: 1, M: 1, SubParent: []int32{0}, Super: []int32{0, 3}, Sub: []int32{0, 0}})
	for name, p := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XXXX"), good[4:]...),
		"truncated": good[:len(good)-5],
		"bit flip":  flip,
		"invalid":   invalid,
	} {
		if _, err := UnmarshalAssignment(p); !errors.Is(err, ErrBadAssignmentData) {
			t.Errorf("%s: err = %v, want ErrBadAssignmentData", name, err)
		}
	}
}
