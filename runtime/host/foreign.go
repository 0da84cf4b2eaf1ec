package host

import (
	"bytes"
	"compress/zlib"
	"io"
)

// ForeignFunc is a host function a filter calls by name with
// proxy_call_foreign_function. It gets a copy of the argument bytes and
// returns the result bytes; an error becomes BAD_ARGUMENT.
type ForeignFunc func(args []byte) ([]byte, error)

// Builtins returns the foreign functions every Runtime registers:
//
//   - "compress": zlib-compresses the arguments (Envoy's compress, which calls
//     zlib's compress()); the result starts with the zlib header 0x78 0x9c.
//   - "uncompress": the inverse; malformed input is BAD_ARGUMENT.
//
// Config.Foreign adds more or replaces these.
func Builtins() map[string]ForeignFunc {
	return map[string]ForeignFunc{
		"compress": func(args []byte) ([]byte, error) {
			var b bytes.Buffer
			w := zlib.NewWriter(&b)
			w.Write(args)
			if err := w.Close(); err != nil {
				return nil, err
			}
			return b.Bytes(), nil
		},
		"uncompress": func(args []byte) ([]byte, error) {
			r, err := zlib.NewReader(bytes.NewReader(args))
			if err != nil {
				return nil, err
			}
			defer r.Close()
			return io.ReadAll(io.LimitReader(r, 64<<20))
		},
	}
}
