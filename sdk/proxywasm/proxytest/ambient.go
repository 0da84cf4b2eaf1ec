package proxytest

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
)

// Calls a test makes to proxywasm functions outside any callback (as the
// original SDK allows: create an emulator, then call proxywasm.GetProperty
// or proxywasm.SetSharedData directly) go to the newest live emulator that
// the calling goroutine created. Parallel tests each get their own; a call
// from the goroutine running a native callback goes to that callback's
// emulator as before.
var (
	ambientMu sync.Mutex
	ambient   = map[uint64][]*hostEmulator{}

	// dispatchGoroutine is the goroutine running a callback of a natively
	// linked filter (it holds dispatchMu), 0 if none.
	dispatchGoroutine atomic.Uint64
)

func init() { internal.AmbientHost = ambientHost }

func ambientHost() (internal.Host, bool) {
	g := goroutineID()
	if g == dispatchGoroutine.Load() {
		return nil, false
	}
	ambientMu.Lock()
	defer ambientMu.Unlock()
	if hs := ambient[g]; len(hs) > 0 {
		return hs[len(hs)-1], true
	}
	return nil, true
}

// addAmbient registers h for the calling goroutine; the returned function
// removes it.
func addAmbient(h *hostEmulator) func() {
	g := goroutineID()
	ambientMu.Lock()
	ambient[g] = append(ambient[g], h)
	ambientMu.Unlock()
	return func() {
		ambientMu.Lock()
		defer ambientMu.Unlock()
		hs := ambient[g]
		for i, e := range hs {
			if e == h {
				hs = append(hs[:i], hs[i+1:]...)
				break
			}
		}
		if len(hs) == 0 {
			delete(ambient, g)
		} else {
			ambient[g] = hs
		}
	}
}

// goroutineID returns the id of the calling goroutine, from the first line
// of its stack trace ("goroutine 42 [running]:").
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
