// Command wasmctl is the proxy-wasm toolchain: build, test, publish, run and
// deploy WebAssembly filters written in Go. All behaviour lives in package cli;
// this file only wires it to the process.
package main

import (
	"os"

	"github.com/wasmctl/wasmctl/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
