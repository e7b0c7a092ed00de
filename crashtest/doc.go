// Package crashtest holds process-level tests of the deepercluster binary:
// it is built with `go build`, started on small synthetic runs, killed with
// SIGKILL at chosen moments (training, checkpoint and Assignment writes,
// reclustering, index updates) and restarted, and the run directory is
// checked after every kill. It has no API; see its tests.
package crashtest
