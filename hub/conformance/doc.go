// Package conformance runs the OCI distribution-spec conformance suite
// (github.com/opencontainers/distribution-spec/conformance, pinned at
// [SuiteVersion]) against the hub on 127.0.0.1, with and without
// authentication. See README.md for the numbers and how to reproduce them.
package conformance

// SuiteModule and SuiteVersion pin the conformance suite the tests build.
const (
	SuiteModule  = "github.com/opencontainers/distribution-spec/conformance"
	SuiteVersion = "v0.0.0-20260831232431-97274622c111"
)
