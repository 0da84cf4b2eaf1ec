package hub_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/wasmctl/wasmctl/hub"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
	"github.com/wasmctl/wasmctl/hub/registry"
)

// bigModule returns a valid proxy-wasm module of about size bytes (a
// custom section of random bytes pads a real export section), different on
// every call so that no push is deduplicated.
func bigModule(size int) []byte {
	m := indextest.Module("proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "proxy_on_context_create")
	pad := make([]byte, size)
	rand.Read(pad)
	body := append([]byte{3, 'p', 'a', 'd'}, pad...)
	sec := []byte{0}
	for v := len(body); ; {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			sec = append(sec, c|0x80)
			continue
		}
		sec = append(sec, c)
		break
	}
	return append(append(m, sec...), body...)
}

func pushPull(ctx context.Context, b *testing.B, repo *remote.Repository, tag string, wasm []byte) time.Duration {
	start := time.Now()
	if _, err := pushModule(ctx, repo, tag, wasm); err != nil {
		b.Fatal(err)
	}
	if _, err := oras.Copy(ctx, repo, tag, memory.New(), tag, oras.DefaultCopyOptions); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkPushPull2MB pushes and pulls a 2 MB module through the whole
// hub (token auth, access checks, indexing on push, pull counting) and
// through the same registry handler alone, alternating, and reports the
// ratio of their times (goal ≤ 1.2).
func BenchmarkPushPull2MB(b *testing.B) {
	ctx := context.Background()
	bare, err := registry.New(ctx, registry.Config{Parameters: map[string]any{"rootdirectory": b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()
	bareRepo, _ := remote.NewRepository(bareSrv.Listener.Addr().String() + "/alice/bench")
	bareRepo.PlainHTTP = true
	_, host := startHub(b, hub.Config{})
	hubRepo := repoAs(b, host, "alice/bench", "alice")
	// Warm both (token cache, directories).
	pushPull(ctx, b, bareRepo, "warm", bigModule(1024))
	pushPull(ctx, b, hubRepo, "warm", bigModule(1024))

	var tBare, tHub time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		m1, m2 := bigModule(2<<20), bigModule(2<<20)
		tag := fmt.Sprintf("v%d", i)
		b.StartTimer()
		tBare += pushPull(ctx, b, bareRepo, tag, m1)
		tHub += pushPull(ctx, b, hubRepo, tag, m2)
	}
	b.ReportMetric(float64(tBare.Microseconds())/1000/float64(b.N), "registry-ms/op")
	b.ReportMetric(float64(tHub.Microseconds())/1000/float64(b.N), "hub-ms/op")
	b.ReportMetric(float64(tHub)/float64(tBare), "hub/registry")
}
