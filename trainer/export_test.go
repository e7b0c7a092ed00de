package trainer

// What the external tests of this directory (package trainer_test, which
// may import package gpu without an import cycle) need of the internal
// ones: the contract of the backends table, for one more backend.
var (
	// BackendContract is TestBackendContract for one backend.
	BackendContract = backendContract
	// BackendLoadStateRejects is TestBackendLoadStateRejects for one
	// backend.
	BackendLoadStateRejects = backendLoadStateRejects
)
