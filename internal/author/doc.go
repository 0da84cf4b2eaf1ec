// Package author implements the filter author's workflow behind the wasmctl
// commands init, build, test, push, pull, tag, ls, inspect, login, logout and
// deploy. Each command in cli/ parses flags and calls one function here:
//
//   - [Init] scaffolds a project from the embedded templates, with the SDK
//     vendored so that it builds and tests offline;
//   - [Build] compiles a project, validates the module and writes its image
//     into the local image store ([Store], an OCI image layout);
//   - [RunTests] runs a project's Go tests and its declarative tests/*.yaml
//     cases against the module in the real runtime host;
//   - [Push], [Pull], [Tag], [List], [Inspect] move and describe images
//     between the store, files and registries, through oras-go, with
//     credentials from the Docker config file ([Login], [Logout]);
//   - [Deploy] renders an Istio WasmPlugin pinned by digest.
package author
