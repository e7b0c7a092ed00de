package ui

import (
	"slices"
	"testing"
)

func TestParseTags(t *testing.T) {
	tests := []struct {
		in   string
		tags []string
		op   string
	}{
		{"#beach", []string{"beach"}, "and"},
		{"beach, sunset", []string{"beach", "sunset"}, "and"},
		{"#beach #sunset", []string{"beach", "sunset"}, "and"},
		{"beach OR sunset", []string{"beach", "sunset"}, "or"},
		{"beach | sunset", []string{"beach", "sunset"}, "or"},
		{"beach AND sunset", []string{"beach", "sunset"}, "and"},
		{`"new york", #été`, []string{"new york", "été"}, "and"},
		{"sun*", []string{"sun*"}, "and"},
		{"  ", nil, "and"},
	}
	for _, tc := range tests {
		tags, op := ParseTags(tc.in)
		if !slices.Equal(tags, tc.tags) || op != tc.op {
			t.Errorf("ParseTags(%q) = %q, %s; want %q, %s", tc.in, tags, op, tc.tags, tc.op)
		}
	}
}
