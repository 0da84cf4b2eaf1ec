package author

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/internal/testregistry"
)

// bigModule is a proxy-wasm module padded with a 200 KiB custom section, so
// that transfers are large enough to draw progress bars.
func bigModule(seed uint64) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00" +
		"\x07\x1b\x01\x17proxy_abi_version_0_2_1\x00\x00" +
		"\x0a\x04\x01\x02\x00\x0b")
	pad := make([]byte, 200<<10) // random, so that gzip cannot shrink it
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range pad {
		pad[i] = byte(r.Uint32())
	}
	body := append([]byte{3, 'p', 'a', 'd'}, pad...)
	size := len(body)
	m = append(m, 0, byte(size|0x80), byte(size>>7|0x80), byte(size>>14))
	return append(m, body...)
}

func TestPushPull_Progress(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.Start(t)
	st, err := OpenStore(t.Context(), filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	for i, bars := range []bool{false, true} {
		wasm := filepath.Join(t.TempDir(), "big.wasm")
		if err := writeFileAtomic(wasm, bigModule(uint64(i))); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		e := &Env{Store: st, Progress: &out, ProgressBars: bars}
		if _, err := e.Push(t.Context(), wasm, reg.Ref("p/big:"+fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Pull(t.Context(), reg.Ref("p/big:"+fmt.Sprint(i)), t.TempDir(), false); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, want := range []string{"pushed", "plugin.tar.gz", "manifest", "pulled"} {
			if !strings.Contains(text, want) {
				t.Errorf("bars=%v: progress output lacks %q:\n%s", bars, want, text)
			}
		}
		if got := strings.Contains(text, "[####"); got != bars {
			t.Errorf("bars=%v: progress bar drawn = %v:\n%q", bars, got, text)
		}
	}
}
