package deepercluster

import "time"

// This file holds what an index of images and clusters answers, so that its
// users (the server, the client) need not import the index itself.

// Level is one of the two levels of the cluster hierarchy.
type Level string

// The two levels.
const (
	LevelSuper Level = "super" // the m super-clusters
	LevelSub   Level = "sub"   // the sub-clusters, ids global over all supers
)

// SearchOp combines several tags of a Query.
type SearchOp string

// The two ways to combine tags.
const (
	OpAnd SearchOp = "and" // images carrying every tag
	OpOr  SearchOp = "or"  // images carrying any of the tags
)

// Query selects images; a search ranks clusters by how characteristic the
// selected images are for them. The parts given are combined with AND.
type Query struct {
	// Tags are exact tags (case-insensitive, Unicode lower-casing; a tag
	// may hold spaces: "new york").
	Tags []string `json:"tags,omitempty"`
	// Op combines Tags: "and" (default) or "or".
	Op SearchOp `json:"op,omitempty"`
	// Prefix selects images with any tag that starts with it.
	Prefix string `json:"prefix,omitempty"`
	// Text is searched in titles, descriptions and the extra columns of a
	// metadata table, in bleve's query-string syntax: bare words match any
	// of them, +word must match, -word must not, field:value names one of
	// title, description, extra, tags (tag words),
	// tag (exact tag), user, photo, super, sub, taken (a day, "2010-01-31",
	// or a range of days: taken:>="2010-01-01"; times within a day are not
	// indexed).
	// A "phrase" matches all its words in any order: no term vectors are
	// kept, so word positions are unknown.
	Text string `json:"text,omitempty"`
	// Limit is the number of clusters returned per level (default 10).
	Limit int `json:"limit,omitempty"`
	// Samples is the number of sample images per cluster (default 3).
	Samples int `json:"samples,omitempty"`
}

// SearchResult ranks the clusters of both levels for a query.
type SearchResult struct {
	// Version is the Assignment version the clusters belong to.
	Version uint32 `json:"version"`
	// Matches is the number of images the query selects; Images the
	// number indexed; BaseRate = Matches / Images.
	Matches  int     `json:"matches"`
	Images   int     `json:"images"`
	BaseRate float64 `json:"base_rate"`
	// Supers and Subs hold the clusters with at least one match, most
	// characteristic first, at most Limit each.
	Supers []ClusterHit `json:"supers"`
	Subs   []ClusterHit `json:"subs"`
}

// ClusterHit is one cluster's share of a query's matches.
type ClusterHit struct {
	Level Level `json:"level"`
	ID    int32 `json:"id"`
	// Super is the parent of a sub-cluster (ID itself for a super-cluster).
	Super int32 `json:"super"`
	Size  int   `json:"size"`
	// Count is the number of the cluster's images that match; Share =
	// Count / Size; Lift = Share / BaseRate.
	Count int     `json:"count"`
	Share float64 `json:"share"`
	Lift  float64 `json:"lift"`
	// Score ranks clusters: Count * ln(Lift), the cluster's contribution
	// to the mutual information between "matches" and "in this cluster".
	// It favours clusters where the tag is both frequent and concentrated,
	// so one stray image in a tiny cluster does not win on share alone.
	Score   float64  `json:"score"`
	Samples []Sample `json:"samples"`
}

// Sample is one matching image of a cluster.
type Sample struct {
	Index   int    `json:"index"`
	PhotoID string `json:"photo_id"`
}

// Quality tells how well one Assignment agrees with the images' metadata.
// The index computes it in memory from the Dataset and the Assignment, with
// its own tag normalisation, once per version.
type Quality struct {
	Version uint32 `json:"version"`
	Images  int    `json:"images"`
	// Tagged images have at least one tag; Untagged ones are left out of
	// the tag NMI and purity.
	Tagged   int `json:"tagged"`
	Untagged int `json:"untagged"`
	// TagNMI compares the clusters with each tagged image's most specific
	// tag (its tag with the lowest global frequency; ties: alphabetical),
	// arithmetic-mean normalisation as scikit-learn.
	TagNMISuper float64 `json:"tag_nmi_super"`
	TagNMISub   float64 `json:"tag_nmi_sub"`
	// TagPurity is the purity of the clusters against the same most
	// specific tags: the share of tagged images whose most specific tag is
	// their cluster's most common one.
	TagPuritySuper float64 `json:"tag_purity_super"`
	TagPuritySub   float64 `json:"tag_purity_sub"`
	// Labels compares with the dataset's hidden labels; nil without them.
	Labels *LabelQuality `json:"labels,omitempty"`
	// Supers and Subs describe every cluster, by id.
	Supers []ClusterQuality `json:"supers"`
	Subs   []ClusterQuality `json:"subs"`
}

// LabelQuality compares both levels with ground-truth labels.
type LabelQuality struct {
	NMISuper    float64 `json:"nmi_super"`
	NMISub      float64 `json:"nmi_sub"`
	ARISuper    float64 `json:"ari_super"`
	ARISub      float64 `json:"ari_sub"`
	PuritySuper float64 `json:"purity_super"`
	PuritySub   float64 `json:"purity_sub"`
}

// ClusterQuality is one cluster's tags.
type ClusterQuality struct {
	Level Level `json:"level"`
	ID    int32 `json:"id"`
	Super int32 `json:"super"`
	Size  int   `json:"size"`
	// TopTags are the most frequent tags with the share of the cluster's
	// images carrying each.
	TopTags []TagShare `json:"top_tags"`
	// Keywords are the tags with the highest c-TF-IDF weight: frequent
	// here, rare elsewhere.
	Keywords []Keyword `json:"keywords"`
}

// TagShare is a tag with its count and share in one cluster.
type TagShare struct {
	Tag   string  `json:"tag"`
	Count int     `json:"count"`
	Share float64 `json:"share"`
}

// Keyword is a tag with its c-TF-IDF weight in one cluster.
type Keyword struct {
	Tag    string  `json:"tag"`
	Weight float64 `json:"weight"`
}

// UpdateStats reports what an index update to a new Assignment did.
type UpdateStats struct {
	From, To uint32 // Assignment versions before and after
	// Changed is the number of images whose super- or sub-cluster changed
	// and were re-indexed.
	Changed int
	// Clusters is the number of cluster documents written.
	Clusters int
	// Rebuilt is true when so many images changed that the update did a
	// full build instead (or no Assignment was indexed yet).
	Rebuilt bool
	Took    time.Duration
}
