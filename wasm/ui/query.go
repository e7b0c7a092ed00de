package ui

import "strings"

// ParseTags splits what a user typed in the hashtag box into tags and the
// operator joining them ("and" or "or"): tags are separated by commas or
// spaces, a leading # is dropped, "OR" or "|" between tags makes the query
// an OR, quotes keep a tag with spaces ("new york") whole.
func ParseTags(q string) (tags []string, op string) {
	op = "and"
	var cur strings.Builder
	quoted := false
	flush := func() {
		t := strings.TrimSpace(cur.String())
		cur.Reset()
		switch strings.ToUpper(t) {
		case "":
			return
		case "OR":
			op = "or"
			return
		case "AND":
			return
		}
		tags = append(tags, strings.TrimLeft(t, "#"))
	}
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ',' || r == ' ' || r == '|'):
			if r == '|' {
				op = "or"
			}
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return tags, op
}
