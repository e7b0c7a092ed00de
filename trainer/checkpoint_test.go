package trainer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
	"github.com/deepercluster/deepercluster/wire"
)

func TestAssignmentFiles(t *testing.T) {
	a := &deepercluster.Assignment{Version: 3, M: 2, SubParent: []int32{0, 1, 1}, Super: []int32{1, 0, 1}, Sub: []int32{2, 0, 1}}
	t.Run("stored form round trip", func(t *testing.T) {
		dir := t.TempDir()
		if err := SaveAssignment(dir, a); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(AssignmentPath(dir, 3))
		if !strings.HasPrefix(string(data), wire.AssignmentMagic) {
			t.Fatalf("file starts %q, want the stored form %q", data[:4], wire.AssignmentMagic)
		}
		got, err := LoadAssignment(dir, 3)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("load: %+v, %v", got, err)
		}
	})
	t.Run("legacy gob files still load", func(t *testing.T) {
		dir := t.TempDir()
		data, err := encodeFile(legacyAssignmentMagic, a)
		if err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.Write(AssignmentPath(dir, 3), data); err != nil {
			t.Fatal(err)
		}
		got, err := LoadAssignment(dir, 3)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("load legacy: %+v, %v", got, err)
		}
	})
	t.Run("corrupt file names itself", func(t *testing.T) {
		dir := t.TempDir()
		if err := SaveAssignment(dir, a); err != nil {
			t.Fatal(err)
		}
		path := AssignmentPath(dir, 3)
		data, _ := os.ReadFile(path)
		data[len(data)/2] ^= 0xff
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadAssignment(dir, 3)
		if !errors.Is(err, wire.ErrBadAssignmentData) || !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Fatalf("err = %v, want ErrBadAssignmentData naming %s", err, path)
		}
	})
	t.Run("wrong version", func(t *testing.T) {
		dir := t.TempDir()
		if err := SaveAssignment(dir, a); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(AssignmentPath(dir, 3), AssignmentPath(dir, 4)); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadAssignment(dir, 4); err == nil || !strings.Contains(err.Error(), "holds version 3") {
			t.Fatalf("err = %v, want a version mismatch", err)
		}
	})
}
