// Package mixer holds the building blocks shared by the reference filters
// under filters/: the Mixer status table and its mapping to HTTP, attribute
// resolution from Mixer-style names to proxy-wasm properties and headers, the
// matcher that replaces Mixer rule expressions, protobuf-JSON durations, a
// verdict cache that honours valid_duration and valid_use_count, and a small
// JSON Schema validator that every filter runs on its configuration with the
// same schema.json it publishes, so the documented schema and the enforced
// one never drift.
//
// The pure parts (status, durations, schema, matcher, cache, attribute
// decoding) depend only on the standard library and are tested natively. The
// glue in host.go talks to the proxy through the wasmctl SDK.
package mixer
