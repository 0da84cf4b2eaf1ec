module github.com/wasmctl/wasmctl/sdk

go 1.24
