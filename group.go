package deepercluster

// GroupByLabel groups the items 0..len(labels)-1 by label with one counting
// sort: the items of label c are order[start[c]:start[c+1]], in increasing
// item order. Labels outside [0, n) are left out. start and order are
// reused when their capacity allows (pass nil for fresh ones), so a caller
// that groups every new Assignment allocates little.
//
// k-means groups points by cluster, the client groups images by
// sub-cluster, sub-clusters by parent and images by new cluster when it
// matches versions: all of them call this one.
func GroupByLabel(labels []int32, n int, start, order []int32) ([]int32, []int32) {
	if cap(start) >= n+1 {
		start = start[:n+1]
		clear(start)
	} else {
		start = make([]int32, n+1)
	}
	for _, c := range labels {
		if c >= 0 && int(c) < n {
			start[c+1]++
		}
	}
	for c := range n {
		start[c+1] += start[c]
	}
	if total := int(start[n]); cap(order) >= total {
		order = order[:total]
	} else {
		order = make([]int32, total)
	}
	next := make([]int32, n)
	copy(next, start[:n])
	for i, c := range labels {
		if c >= 0 && int(c) < n {
			order[next[c]] = int32(i)
			next[c]++
		}
	}
	return start, order
}
