package index

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// matching counts, from the fixture alone, the images a predicate selects.
func matching(f *fixture, pred func(m deepercluster.Meta) bool) int {
	n := 0
	for _, m := range f.metas {
		if pred(m) {
			n++
		}
	}
	return n
}

func hasTag(m deepercluster.Meta, want string) bool {
	for _, t := range m.Tags {
		if strings.ToLower(strings.TrimSpace(t)) == want {
			return true
		}
	}
	return false
}

func TestSearchExactPrefixAndOr(t *testing.T) {
	f := tagged(
		[]string{"New York", "Café"},
		[]string{"new york", "東京"},
		[]string{" new york ", "newcastle"},
		[]string{"york"},
		[]string{"東京", "CAFÉ"},
		[]string{"news", "café"},
		nil,
	)
	a := assignment(1, 2, []int32{0, 1}, []int32{0, 0, 1, 1, 0, 1, 0})
	ix, _ := built(t, f, a)
	ctx := context.Background()
	cases := []struct {
		name string
		q    deepercluster.Query
		want int
	}{
		{"tag with space", deepercluster.Query{Tags: []string{"new york"}}, 3},
		{"tag with space, upper case", deepercluster.Query{Tags: []string{"NEW YORK"}}, 3},
		{"part of a tag is not the tag", deepercluster.Query{Tags: []string{"new"}}, 0},
		{"non-ASCII", deepercluster.Query{Tags: []string{"東京"}}, 2},
		{"Unicode lower-casing", deepercluster.Query{Tags: []string{"café"}}, 3},
		{"Unicode upper-casing", deepercluster.Query{Tags: []string{"CAFÉ"}}, 3},
		{"and", deepercluster.Query{Tags: []string{"new york", "café"}, Op: deepercluster.OpAnd}, 1},
		{"default op is and", deepercluster.Query{Tags: []string{"new york", "東京"}}, 1},
		{"or", deepercluster.Query{Tags: []string{"new york", "東京"}, Op: deepercluster.OpOr}, 4},
		{"OR upper case", deepercluster.Query{Tags: []string{"york", "news"}, Op: "OR"}, 2},
		{"prefix", deepercluster.Query{Prefix: "new"}, 4},
		{"prefix with space", deepercluster.Query{Prefix: "New Y"}, 3},
		{"prefix non-ASCII", deepercluster.Query{Prefix: "東"}, 2},
		{"prefix and tag", deepercluster.Query{Prefix: "new", Tags: []string{"café"}}, 2},
		{"text in title", deepercluster.Query{Text: "number"}, 7},
		{"text words of tags", deepercluster.Query{Text: "tags:york"}, 4},
		{"text exact tag field", deepercluster.Query{Text: `tag:"new york"`}, 3},
		{"text must and must not", deepercluster.Query{Text: `+number -tags:york`}, 3},
		{"text date range", deepercluster.Query{Text: `taken:>="2013-01-01"`}, 2},
		{"text date range exclusive", deepercluster.Query{Text: `taken:<"2011-01-01"`}, 2},
		{"text one day", deepercluster.Query{Text: `taken:"2012-01-01"`}, 1},
		{"text phrase", deepercluster.Query{Text: `"photo number"`}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := ix.Search(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Matches != c.want {
				t.Fatalf("matches %d, want %d", res.Matches, c.want)
			}
			sum := 0
			for _, h := range res.Subs {
				sum += h.Count
			}
			if sum != c.want {
				t.Fatalf("sub-cluster counts add to %d, want %d", sum, c.want)
			}
		})
	}
}

func TestSearchSamplesAndRanking(t *testing.T) {
	f := randomSet(1, 400)
	// "concentrated" is on 30 images, 27 of them in sub-cluster 5.
	a := labelAssignment(f, 1, 0.2, 2)
	var in5 []int
	for i, s := range a.Sub {
		if s == 5 {
			in5 = append(in5, i)
		}
	}
	if len(in5) < 27 {
		t.Fatalf("fixture: sub-cluster 5 has %d images", len(in5))
	}
	for _, i := range in5[:27] {
		f.metas[i].Tags = append(f.metas[i].Tags, "Concentrated")
	}
	outside := 0
	for i := range f.metas {
		if a.Sub[i] != 5 && outside < 3 {
			f.metas[i].Tags = append(f.metas[i].Tags, "concentrated")
			outside++
		}
	}
	ix, _ := built(t, f, a)
	res, err := ix.Search(context.Background(), deepercluster.Query{Tags: []string{"concentrated"}, Samples: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matches != 30 {
		t.Fatalf("matches %d, want 30", res.Matches)
	}
	top := res.Subs[0]
	if top.ID != 5 || top.Count != 27 || top.Super != a.SubParent[5] {
		t.Fatalf("top sub-cluster %+v, want id 5 with 27", top)
	}
	if res.Supers[0].ID != a.SubParent[5] {
		t.Fatalf("top super-cluster %d, want %d", res.Supers[0].ID, a.SubParent[5])
	}
	size5 := len(in5)
	if top.Size != size5 || top.Share != 27/float64(size5) || top.Lift != top.Share/(30.0/400) {
		t.Fatalf("size/share/lift %d %v %v", top.Size, top.Share, top.Lift)
	}
	for _, h := range append(res.Subs, res.Supers...) {
		if len(h.Samples) != min(4, h.Count) {
			t.Fatalf("%s %d: %d samples for %d matches", h.Level, h.ID, len(h.Samples), h.Count)
		}
		for _, s := range h.Samples {
			in := a.Sub[s.Index]
			if h.Level == deepercluster.LevelSuper {
				in = a.Super[s.Index]
			}
			if in != h.ID || !hasTag(f.metas[s.Index], "concentrated") || s.PhotoID != f.metas[s.Index].PhotoID {
				t.Fatalf("sample %+v is not a match in %s %d", s, h.Level, h.ID)
			}
		}
	}
	for i := 1; i < len(res.Subs); i++ {
		if res.Subs[i].Score > res.Subs[i-1].Score {
			t.Fatalf("sub-clusters not sorted by score at %d", i)
		}
	}
}

func TestSearchCountsAgreeWithData(t *testing.T) {
	f := randomSet(3, 300)
	a := labelAssignment(f, 1, 0.3, 4)
	ix, _ := built(t, f, a)
	for _, tag := range vocab {
		want := strings.ToLower(tag)
		res, err := ix.Search(context.Background(), deepercluster.Query{Tags: []string{tag}, Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		perSub := map[int32]int{}
		for i, m := range f.metas {
			if hasTag(m, want) {
				perSub[a.Sub[i]]++
			}
		}
		got := map[int32]int{}
		for _, h := range res.Subs {
			got[h.ID] = h.Count
		}
		if len(got) != len(perSub) {
			t.Fatalf("%q: %d sub-clusters, want %d", tag, len(got), len(perSub))
		}
		for s, n := range perSub {
			if got[s] != n {
				t.Fatalf("%q sub-cluster %d: %d, want %d", tag, s, got[s], n)
			}
		}
	}
}

func TestSuggest(t *testing.T) {
	f := tagged([]string{"news"}, []string{"News", "newcastle"}, []string{"new york"}, []string{"news"}, []string{"nikon"})
	a := assignment(1, 1, []int32{0}, []int32{0, 0, 0, 0, 0})
	ix, _ := built(t, f, a)
	got, err := ix.Suggest(context.Background(), "NE", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []deepercluster.TagCount{{Tag: "news", Count: 3}, {Tag: "new york", Count: 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, _ := ix.Suggest(context.Background(), "zz", 5); len(got) != 0 {
		t.Fatalf("got %v for an unknown prefix", got)
	}
}

func TestBadInput(t *testing.T) {
	f := tagged([]string{"a"}, []string{"b"})
	ix, _ := built(t, f, assignment(1, 1, []int32{0}, []int32{0, 0}))
	long := strings.Repeat("x", MaxQueryBytes+1)
	cases := []struct {
		name  string
		q     deepercluster.Query
		field string
	}{
		{"empty", deepercluster.Query{}, "query"},
		{"blank", deepercluster.Query{Text: "  ", Prefix: " "}, "query"},
		{"blank tag", deepercluster.Query{Tags: []string{" "}}, "tags"},
		{"text over 1 KB", deepercluster.Query{Text: long}, "text"},
		{"prefix over 1 KB", deepercluster.Query{Prefix: long}, "prefix"},
		{"tags over 1 KB", deepercluster.Query{Tags: []string{long[:600], long[:600]}}, "tags"},
		{"all over 1 KB", deepercluster.Query{Tags: []string{long[:500]}, Text: long[:300], Prefix: long[:300]}, "query"},
		{"syntax error", deepercluster.Query{Text: "title:"}, "text"},
		{"syntax error colons", deepercluster.Query{Text: "a:b:c"}, "text"},
		{"syntax error quote", deepercluster.Query{Text: `"open`}, "text"},
		{"unknown field", deepercluster.Query{Text: "colour:red"}, "text"},
		{"cluster field", deepercluster.Query{Text: "c_tag:red"}, "text"},
		{"numeric range", deepercluster.Query{Text: "sub:>3"}, "text"},
		{"unknown op", deepercluster.Query{Tags: []string{"a"}, Op: "xor"}, "op"},
		{"negative limit", deepercluster.Query{Tags: []string{"a"}, Limit: -1}, "limit"},
		{"huge limit", deepercluster.Query{Tags: []string{"a"}, Limit: MaxLimit + 1}, "limit"},
		{"too many samples", deepercluster.Query{Tags: []string{"a"}, Samples: MaxSamples + 1}, "samples"},
		{"bad utf-8", deepercluster.Query{Text: "\xff"}, "text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := ix.Search(context.Background(), c.q)
			if err == nil {
				t.Fatalf("no error, result %+v", res)
			}
			var fe *deepercluster.FieldError
			if !errors.Is(err, deepercluster.ErrBadQuery) || !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("error %v (field %v), want a bad query on %q", err, fe, c.field)
			}
		})
	}
	for _, p := range []string{"", " ", long} {
		if _, err := ix.Suggest(context.Background(), p, 3); !errors.Is(err, deepercluster.ErrBadQuery) {
			t.Fatalf("Suggest(%.10q): %v, want a bad query", p, err)
		}
	}
	if _, err := ix.Suggest(context.Background(), "a", -1); !errors.Is(err, deepercluster.ErrBadQuery) {
		t.Fatalf("Suggest n=-1: %v", err)
	}
	for _, c := range [][2]int32{{-1, -1}, {1, -1}, {0, 1}, {0, 5}} {
		if _, err := ix.TopTags(c[0], c[1], 3); !errors.Is(err, ErrUnknownCluster) {
			t.Fatalf("TopTags(%d, %d): %v, want ErrUnknownCluster", c[0], c[1], err)
		}
	}
}

func FuzzSearch(f *testing.F) {
	ds := randomSet(5, 60)
	a := labelAssignment(ds, 1, 0.1, 1)
	dir := f.TempDir()
	ix, err := Open(dir, ds, testOptions())
	if err != nil {
		f.Fatal(err)
	}
	defer ix.Close()
	if err := ix.Build(context.Background(), a, nil); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"sunset", `title:"a b"`, "+x -y", "tag:café", "(((", "taken:>\"2010\"", "c_size:>1", "*", "/re[/", "a~2", "東京^3"} {
		f.Add(s, "new", "dog")
	}
	f.Fuzz(func(t *testing.T, text, prefix, tag string) {
		for _, q := range []deepercluster.Query{{Text: text}, {Prefix: prefix}, {Tags: []string{tag, text}, Op: deepercluster.OpOr}} {
			res, err := ix.Search(context.Background(), q)
			if err != nil {
				if !errors.Is(err, deepercluster.ErrBadQuery) {
					t.Fatalf("%+v: %v is not a bad-query error", q, err)
				}
				continue
			}
			if res.Matches < 0 || res.Matches > ds.Len() {
				t.Fatalf("%+v: %d matches", q, res.Matches)
			}
		}
	})
}
