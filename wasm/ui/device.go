package ui

import "strconv"

// DeviceLabel is how the header names the device a run trains on
// (deepercluster.DeviceInfo, without the root package): the kind, the
// driver's name for it, and its memory in GiB where it has its own, so a
// glance tells a CPU run from a GPU one and which GPU. An unknown device
// (kind empty, a server without a trainer) gives "".
func DeviceLabel(kind, name string, memoryBytes int64) string {
	if kind == "" {
		return ""
	}
	s := kind
	if name != "" {
		s += ": " + name
	}
	if memoryBytes > 0 {
		s += " · " + strconv.FormatFloat(float64(memoryBytes)/(1<<30), 'f', 1, 64) + " GiB"
	}
	return s
}
