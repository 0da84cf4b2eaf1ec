package proxytest

import (
	"testing"
	"unsafe"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
)

// TestHeaderWritesCopyGuestMemory: the bridge hands the emulator keys and
// values that point into guest memory; whatever the emulator stores must be
// its own copy, or the guest's next write would change a recorded header.
func TestHeaderWritesCopyGuestMemory(t *testing.T) {
	t.Parallel()
	host, reset := NewHostEmulator(NewEmulatorOption())
	defer reset()
	h := host.(*hostEmulator)
	id := h.InitializeHttpContext()
	h.httpStreams[id].requestHeaders = [][2]string{{"x-empty", ""}}
	h.active = id

	guest := []byte("x-newvalue") // stands for guest memory
	view := func(from, to int) string { return unsafe.String(&guest[from], to-from) }
	for _, c := range []struct {
		name string
		call func() internal.Status
	}{
		{"add a new key", func() internal.Status {
			return h.ProxyAddHeaderMapValue(internal.MapTypeHttpRequestHeaders, view(0, 5), view(5, 10))
		}},
		{"add to an empty value", func() internal.Status {
			return h.ProxyAddHeaderMapValue(internal.MapTypeHttpRequestHeaders, "x-empty", view(5, 10))
		}},
		{"replace", func() internal.Status {
			return h.ProxyReplaceHeaderMapValue(internal.MapTypeHttpRequestHeaders, "x-replaced", view(5, 10))
		}},
	} {
		if st := c.call(); st != internal.StatusOK {
			t.Fatalf("%s: status %v", c.name, st)
		}
	}
	copy(guest, "XXXXXXXXXX")
	want := [][2]string{{"x-empty", "value"}, {"x-new", "value"}, {"x-replaced", "value"}}
	if got := h.httpStreams[id].requestHeaders; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("headers after the guest rewrote its memory: %q, want %q", got, want)
	}
}
