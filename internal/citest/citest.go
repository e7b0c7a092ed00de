// Package citest holds the one rule for a test whose prerequisite (a
// browser, a built client, a Debian package, a data set, a tool) is
// missing: on a developer's machine it skips, saying what to install; under
// CI (the CI environment variable set, as .ci/run does with CI=1) it fails,
// because a test skipped in CI is a test that did not run. Tests that need
// an NVIDIA GPU are the one exception and skip with t.Skip directly.
package citest

import (
	"fmt"
	"os"
	"testing"
)

// On reports whether the tests run under CI: CI is set to anything but
// "", "0" or "false" (.ci/run exports CI=1; hosted CI services set
// CI=true).
func On() bool {
	switch os.Getenv("CI") {
	case "", "0", "false":
		return false
	}
	return true
}

// Missing ends the test because something it needs is missing: t.Skipf on
// a developer's machine, t.Fatalf under CI (see On), both with the message
// formatted from format and args, which should say what is missing and how
// to install it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if On() {
		t.Fatalf("%s (CI is set, so a missing prerequisite fails the test instead of skipping it)", msg)
	}
	t.Skip(msg)
}
