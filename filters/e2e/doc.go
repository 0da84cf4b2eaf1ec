// Package e2e runs every reference filter end to end: compiled to wasm,
// loaded by the wasmctl runtime (runtime/host with runtime/httpfilter's
// proxy handler), in front of a real upstream on 127.0.0.1, with real
// callout targets. It also holds the cross-instance tests (several VMs of
// one plugin sharing shared data) and the per-filter cost benchmarks.
// It has tests only.
package e2e
